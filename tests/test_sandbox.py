"""Direct tests of mlgrader.sandbox.kernel.SandboxKernel in both modes: limits, recovery, isolation.

Non-destructive checks share one kernel per mode (and one with small limits); checks that
kill or wedge a kernel start their own. As root, both modes run the kernel as a uid of its
own, also where the interpreter is not readable by other users (a pyenv under /root): the
fallback kernel then reaches it through descriptors (python_access.hidden_python_roots).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

from mlgrader.sandbox import kernel as sandbox_kernel
from mlgrader.sandbox import landlock, policy, python_access, users
from mlgrader.sandbox.kernel import SandboxKernel
from mlgrader.sandbox.limits import Limits, SandboxError
from mlgrader.sandbox.modes import bubblewrap_works

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
BWRAP = bubblewrap_works()
needs_bwrap = pytest.mark.skipif(not BWRAP, reason="bubblewrap cannot create namespaces here")
MODES = [pytest.param("bubblewrap", marks=needs_bwrap), "subprocess"]

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="the kernel gets a uid of its own only when the grader is root")
# Where the interpreter lives under a folder other users cannot enter (here a pyenv in /root)
HIDDEN_PYTHON = python_access.hidden_python_roots()
SECRET = f"secret-{uuid.uuid4().hex}"


class _Kernel(SandboxKernel):
    """A SandboxKernel in its own scratch dir directly under $TMPDIR, as grading makes it."""

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _start(tmp: Path | None, mode: str, **limits) -> SandboxKernel:
    # Directly under /tmp like grade.run_plan's mkdtemp (see test_bwrap_workdir_in_a_subfolder_of_tmp).
    workdir = Path(tempfile.mkdtemp(prefix="mlgrader-sandbox-test-"))
    kernel = _Kernel(workdir, Limits(**limits), mode=mode)
    kernel.start()
    return kernel


def _value(kernel: SandboxKernel, code: str, timeout: float = 30):
    """Run ``code``, which prints one JSON line, and return what it printed."""
    run = kernel.run(code, timeout=timeout)
    assert run.ok, (run.status, run.error_name, run.error_value, run.traceback)
    return json.loads(run.text().strip().splitlines()[-1])


@pytest.fixture(scope="module", params=MODES)
def kernel(request, tmp_path_factory):
    """One kernel per mode with the default limits, started with a secret in our environment."""
    os.environ["MLGRADER_TEST_SECRET"] = SECRET
    try:
        k = _start(tmp_path_factory.mktemp("sandbox"), request.param)
    finally:
        os.environ.pop("MLGRADER_TEST_SECRET", None)
    yield k
    k.stop()


@pytest.fixture(scope="module", params=MODES)
def limited(request, tmp_path_factory):
    """One kernel per mode with small limits: 1 GB memory, 32 processes, 1 MB files, 10 kB output."""
    k = _start(tmp_path_factory.mktemp("limited"), request.param, memory_mb=1024, max_processes=32,
               file_size_mb=1, output_bytes=10_000)
    yield k
    k.stop()


@pytest.fixture(scope="module")
def bwrap_kernel(tmp_path_factory):
    if not BWRAP:
        pytest.skip("bubblewrap cannot create namespaces here")
    k = _start(tmp_path_factory.mktemp("bwrap"), "bubblewrap")
    yield k
    k.stop()


# --------------------------------------------------------------------------- both modes


def test_runs_code_and_reports_errors(kernel):
    run = kernel.run("x = 6 * 7\nprint(x)", timeout=30)
    assert run.ok and run.text().strip() == "42"
    run = kernel.run("1 / 0", timeout=30)
    assert run.status == "error" and run.error_name == "ZeroDivisionError"
    assert kernel.run("print(x)", timeout=30).text().strip() == "42"  # state survives an error


def test_timeout_interrupts_and_the_kernel_recovers(kernel):
    started = time.monotonic()
    run = kernel.run("while True:\n    pass", timeout=2)
    assert run.status == "timeout" and run.error_name == "CellTimeout"
    assert time.monotonic() - started < 15
    assert not kernel.dead
    assert kernel.run("print('alive')", timeout=30).text().strip() == "alive"


def test_environment_is_explicit(kernel):
    env = _value(kernel, "import os, json\nprint(json.dumps(dict(os.environ)))")
    assert SECRET not in json.dumps(env)
    assert env["HOME"] == str(kernel.workdir)
    # The sandbox names no data of its own: data folders and settings are the caller's (grading).
    assert "MLGRADER_OFFLINE" not in env and "MLGRADER_DATA" not in env


def test_memory_limit_gives_memoryerror_not_a_dead_grader(limited):
    run = limited.run("hog = bytearray(2 * 2**30)", timeout=30)
    assert run.status == "error" and run.error_name == "MemoryError"
    run = limited.run("hog = [0]\nwhile True:\n    hog = hog + hog", timeout=60)
    assert run.status == "error" and run.error_name == "MemoryError"
    assert limited.run("del hog\nprint('alive')", timeout=30).text().strip() == "alive"


THREADS_WITH_SMALL_ALLOCATIONS = """
import threading
errors = []
barrier = threading.Barrier(16)
def work():
    try:
        junk = [str(i) * 3 for i in range(20000)]  # small objects: a malloc arena per thread
        block = bytearray(20 * 2**20)
        barrier.wait(timeout=30)
    except Exception as exc:
        errors.append(type(exc).__name__)
        barrier.abort()
threads = [threading.Thread(target=work) for _ in range(16)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(errors)
"""


def test_threads_do_not_eat_the_memory_budget(limited):
    # 16 threads using 0.3 GB in all fit a 1 GB cap: the cap counts memory that can hold
    # data, not the 64 MB of address space each thread's malloc arena reserves (as
    # RLIMIT_AS would; on a 16-core grader that starved torch's OpenMP threads).
    run = limited.run(THREADS_WITH_SMALL_ALLOCATIONS, timeout=60)
    assert run.ok and run.text().strip() == "[]", (run.status, run.error_name, run.text())


def test_user_name_lookups_work_for_the_sandbox_user(kernel):
    # torch's compile cache asks getpass.getuser(); the sandbox uid has no passwd entry.
    run = kernel.run("import getpass\nprint(getpass.getuser())", timeout=30)
    assert run.ok and run.text().strip() == "student", (run.error_name, run.error_value)


def test_output_is_truncated(limited):
    run = limited.run("for _ in range(200):\n    print('y' * 10_000)", timeout=60)
    assert run.ok and run.truncated
    text = run.text()
    assert len(text) < 50_000
    assert "output beyond 10000 bytes was dropped" in text


def test_file_size_is_limited(limited):
    run = limited.run("open('big.bin', 'wb').write(b'x' * (3 * 2**20))", timeout=30)
    assert run.status == "error" and "File too large" in (run.error_value or "") + (run.traceback or "")
    assert (limited.workdir / "big.bin").stat().st_size <= 2**20


def test_processes_are_bounded(limited):
    code = """\
import json, os, time
children, error = [], None
for _ in range(100):
    try:
        pid = os.fork()
    except OSError as exc:
        error = repr(exc)
        break
    if pid == 0:
        time.sleep(2)
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
print(json.dumps({"children": len(children), "error": error}))
"""
    got = _value(limited, code, timeout=60)
    assert got["error"] is not None and got["children"] < 32, got
    assert limited.run("print('alive')", timeout=30).ok


@pytest.mark.parametrize("mode", MODES)
def test_os_exit_is_reported_as_died(tmp_path, mode):
    k = _start(tmp_path, mode)
    try:
        run = k.run("import os\nos._exit(0)", timeout=30)
        assert run.status == "died" and k.dead
        assert k.run("print(1)", timeout=5).status == "died"
    finally:
        k.stop()


def test_uninterruptible_loop_marks_the_kernel_dead(tmp_path):
    # one mode only: it costs the sandbox's 10 s responsiveness probe
    k = _start(tmp_path, "bubblewrap" if BWRAP else "subprocess")
    try:
        started = time.monotonic()
        run = k.run("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass", timeout=2)
        assert run.status == "timeout" and k.dead
        assert time.monotonic() - started < 30
        assert k.run("print(1)", timeout=5).status == "died"
    finally:
        k.stop()


def _processes_with(token: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if token.encode() in (proc / "cmdline").read_bytes():
                    pids.append(int(proc.name))
            except OSError:
                pass
    return pids


@pytest.mark.parametrize("mode", [pytest.param("bubblewrap", marks=needs_bwrap),
                                  pytest.param("subprocess", marks=needs_root)])
def test_no_process_outlives_the_kernel(tmp_path, mode):
    token = f"orphan-{uuid.uuid4().hex}"
    k = _start(tmp_path, mode)
    try:
        code = (f"import os, subprocess, sys\nsubprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', "
                f"'{token}'], start_new_session=True)\nsubprocess.Popen(['sleep', '61'])\n"
                "if os.fork() == 0:  # a daemon: double fork, new session\n"
                "    os.setsid()\n"
                "    if os.fork() == 0:\n"
                f"        os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(62)', '{token}'])\n"
                "    os._exit(0)\n"
                "os.wait()")
        assert k.run(code, timeout=30).ok
        time.sleep(0.5)
        assert len(_processes_with(token)) == 2
    finally:
        k.stop()
    if k.uid is not None:  # counted before they were killed: the grade says so
        assert k.leftovers == 3
    time.sleep(1)
    survivors = _processes_with(token)
    for pid in survivors:  # started by this test: clean up
        os.kill(pid, signal.SIGKILL)
    assert not survivors


@needs_root
def test_fallback_kernel_is_not_root(tmp_path):
    k = _start(tmp_path, "subprocess")
    try:
        got = _value(k, "import os, json\nprint(json.dumps([os.getuid(), os.geteuid(), os.getgid(), os.getgroups()]))")
        assert got == [k.uid, k.uid, k.uid, []] and k.uid != 0
        assert users.UID_RANGE[0] <= k.uid < users.UID_RANGE[1]
    finally:
        k.stop()


@needs_root
@pytest.mark.skipif(not HIDDEN_PYTHON, reason="this interpreter is readable by other users")
def test_fallback_reaches_a_hidden_python_through_descriptors(tmp_path):
    hidden = HIDDEN_PYTHON[0]
    hider = next(str(p) for p in [Path(hidden), *Path(hidden).parents] if not p.stat().st_mode & 0o001)
    k = _start(tmp_path, "subprocess")
    try:
        code = f"""\
import json, os, subprocess, sys
out = {{"base": sys.base_prefix, "executable": sys.executable,
       "shim_writable": os.access(os.path.dirname(sys.executable), os.W_OK)}}
# processes the kernel starts (with their descriptors closed) run the same Python and packages
child = subprocess.run([sys.executable, "-c", "import numpy, ipykernel, mlgrader.channel.kernel_agent; print('ok')"],
                       capture_output=True, text=True)
out["child"] = child.stdout.strip() or child.stderr[-500:]
out["path_python"] = subprocess.run(["python", "-c", "print('ok')"], capture_output=True, text=True).stdout.strip()
for name, folder in [("hider", {hider!r}), ("walked_up", sys.base_prefix + "/" + "/".join([".."] * 8))]:
    try:
        out[name] = sorted(os.listdir(folder))
    except OSError as exc:
        out[name] = type(exc).__name__
print(json.dumps(out))
"""
        got = _value(k, code)
    finally:
        k.stop()
    assert got["base"].startswith("/proc/") and "/fd/" in got["base"], got
    assert not got["executable"].startswith(hidden) and not got["shim_writable"], got
    assert got["child"] == "ok" and got["path_python"] == "ok", got
    # the folder that hides the interpreter stays closed, also when walked up to from it
    assert got["hider"] == "PermissionError" and got["walked_up"] == "PermissionError", got


def test_python_shim_runs_this_python_with_its_packages(tmp_path):
    from mlgrader.sandbox import limiter as sandbox_exec

    via = tmp_path / "via"  # stands for /proc/<pid>/fd/<n>, a descriptor of the real folder
    via.symlink_to(os.path.realpath(sys.base_prefix))
    through = {os.path.realpath(sys.base_prefix): str(via)}
    shim = tmp_path / "shim"
    shim.mkdir()
    sandbox_exec.build_python_shim(shim, through)
    env = sandbox_exec.shim_environment({"PATH": "/usr/bin:/bin"}, through, shim)
    code = "import sys, numpy, ipykernel, mlgrader.channel.kernel_agent; print(sys.prefix, sys.base_prefix, sys.executable)"
    out = subprocess.run(["python", "-c", code], env={**env, "PYTHONPATH": str(REPO / "src")},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    prefix, base_prefix, executable = out.stdout.split()
    assert prefix == str(shim) and executable == str(shim / "bin" / "python")
    assert base_prefix == str(via)


@needs_root
def test_fallback_refuses_where_python_cannot_be_reached(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox_kernel, "hidden_python_roots", lambda: [str(tmp_path / "no-such-python")])
    workdir = Path(tempfile.mkdtemp(prefix="mlgrader-sandbox-test-"))
    try:
        with pytest.raises(SandboxError) as caught:
            SandboxKernel(workdir, Limits(startup_timeout=20), mode="subprocess").start()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    message = str(caught.value)
    assert "no-such-python" in message and python_access.FALLBACK_FIX in message


@needs_root
def test_fallback_refuses_a_scratch_folder_the_sandbox_user_cannot_enter(tmp_path):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    (private / "scratch").mkdir()
    with pytest.raises(SandboxError, match="set TMPDIR"):
        SandboxKernel(private / "scratch", Limits(), mode="subprocess").start()


def test_each_kernel_claims_a_uid_of_its_own(monkeypatch):
    first, lock = users.claim_uid()
    try:
        draws = iter([first, first + 1])
        monkeypatch.setattr(users.random.SystemRandom, "randrange", lambda self, *a: next(draws))
        second, other = users.claim_uid()  # the first draw is locked by the first kernel
        os.close(other)
    finally:
        os.close(lock)
    assert second == first + 1
    assert users.UID_RANGE[0] <= first < users.UID_RANGE[1]


def test_kill_all_of_refuses_uids_that_are_not_sandbox_users():
    for uid in (0, os.getuid(), 1000, users.UID_RANGE[1]):
        with pytest.raises(ValueError):
            users.kill_all_of(uid)


@needs_root
def test_kill_all_of_kills_detached_processes_of_that_uid_only():
    uid = users.UID_RANGE[0] + 99_999 - os.getpid() % 1000
    token = f"detached-{uuid.uuid4().hex}"
    daemon = f"import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(60)\n"
    started = subprocess.Popen(["sh", "-c", f"sleep 60 & sleep 60 & exec sleep 60 # {token}"],
                               user=uid, group=uid, extra_groups=[], start_new_session=True)
    mine = subprocess.Popen(["sleep", "60"])  # the grader's own: must survive
    try:
        time.sleep(0.3)
        assert len(users.processes_of(uid)) == 3
        users.kill_all_of(uid)
        started.wait(timeout=5)
        assert users.processes_of(uid) == []
        assert mine.poll() is None
    finally:
        mine.kill()
        started.kill()


# --------------------------------------------------------------------------- output


def test_output_too_large_to_keep_is_never_decoded(limited):
    import tracemalloc

    tracemalloc.start()
    try:
        run = limited.run("print('x' * 12_000_000)", timeout=60)  # one message of 12 MB
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert run.ok and run.truncated
    assert peak < 3 * 2**20, f"the grader allocated {peak / 2**20:.0f} MB for output it drops"


def test_the_reply_a_request_waits_for_may_be_large(limited):
    mime = "application/x-mlgrader-test-reply+json"
    code = (f"from IPython.display import publish_display_data\n"
            f"publish_display_data({{{mime!r}: {{'v': 'r' * 3_000_000}}}})\n"
            f"publish_display_data({{{mime!r}: {{'v': 'second' * 1_000_000}}}})")
    run = limited.run(code, timeout=60, reply_mime=mime)
    replies = [o["data"][mime] for o in run.outputs if mime in o.get("data", {})]
    assert run.ok and run.truncated  # the second, unasked for, counts as output and is dropped
    assert [len(r["v"]) for r in replies] == [3_000_000]


@pytest.mark.parametrize("mode", MODES)
def test_an_output_flood_stops_the_kernel(tmp_path, mode):
    k = _start(tmp_path, mode, output_bytes=10_000, flood_bytes=8 * 2**20)
    try:
        started = time.monotonic()
        # from a background thread, after the cell that started it ended
        assert k.run("import sys, threading, time\ndef flood():\n    while True:\n"
                     "        sys.stderr.write('E' * 2**20)\n        time.sleep(0.01)\n"
                     "threading.Thread(target=flood, daemon=True).start()", timeout=30).ok
        run = k.run("import time\ntime.sleep(20)", timeout=30)
        assert run.status == "died" and run.error_name == "OutputFlood" and k.dead
        assert "more than 8 MB" in run.error_value
        assert time.monotonic() - started < 15
    finally:
        k.stop()


@pytest.fixture
def relay_server():
    from mlgrader.sandbox.relay_server import RelayServer

    server = RelayServer()
    yield server
    server.close()


def _publisher(folder: Path):
    import zmq

    context = zmq.Context()
    pub = context.socket(zmq.PUB)
    pub.bind(f"ipc://{folder}/kernel")
    return context, pub


def test_a_forked_relay_forwards_output_and_ends_on_a_message_over_its_limit(relay_server, tmp_path):
    import zmq

    context, pub = _publisher(tmp_path)
    relay = relay_server.relay(f"ipc://{tmp_path}/kernel", f"ipc://{tmp_path}/grader", 10_000, 256)
    sub = context.socket(zmq.SUB)
    try:
        assert relay.ready()
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(f"ipc://{tmp_path}/grader")
        got = None
        for _ in range(100):  # until both subscriptions are through
            pub.send_multipart([b"small", b"x" * 100])
            if sub.poll(50):
                got = sub.recv_multipart()
                break
        assert got == [b"small", b"x" * 100]
        pub.send_multipart([b"large", b"x" * 20_000])
        assert relay.wait() == 3  # TOO_LARGE: the grader then stops the kernel and reports a flood
    finally:
        relay.close()
        sub.close(linger=0)
        pub.close(linger=0)
        context.term()


def test_the_relay_server_makes_no_relay_to_a_network_address_nor_for_another_process(relay_server, tmp_path):
    from mlgrader.sandbox.relay_server import valid_request

    assert not valid_request({"kernel_url": "tcp://127.0.0.1:9", "relay_url": f"ipc://{tmp_path}/g",
                              "max_message_bytes": 10, "memory_mb": 64})
    assert not valid_request({"kernel_url": f"ipc://{tmp_path}/k", "relay_url": "tcp://0.0.0.0:8000",
                              "max_message_bytes": 10, "memory_mb": 64})
    relay = relay_server.relay("tcp://127.0.0.1:9", f"ipc://{tmp_path}/g", 10, 64)
    assert not relay.ready()
    relay.close()
    # Another process of the same user (a fallback kernel may be one) is refused too.
    code = ("import json, socket, sys\n"
            "c = socket.socket(socket.AF_UNIX); c.connect(sys.argv[1])\n"
            "try:\n"
            "    c.sendall(json.dumps({'kernel_url': 'ipc:///tmp/k', 'relay_url': 'ipc:///tmp/g',"
            " 'max_message_bytes': 10, 'memory_mb': 64}).encode() + b'\\n')\n"
            "    print(repr(c.makefile('rb').readline()))\n"
            "except OSError:\n"
            "    print('refused')")
    out = subprocess.run([sys.executable, "-c", code, str(relay_server.control)], capture_output=True, text=True,
                         timeout=30)
    assert out.stdout.strip() in ("b''", "refused"), out.stderr  # closed at once: no relay, no answer


def test_warm_kernels_fork_their_relays_and_a_flood_still_stops_the_kernel(tmp_path):
    from mlgrader.sandbox.warm import WarmKernels

    with WarmKernels() as kernels:
        scratch = kernels.scratch((), ())
        assert scratch.relays is not None and scratch.relays.alive()
        kernel = scratch.kernel(Limits(output_bytes=10_000, flood_bytes=8 * 2**20), "auto", [], {})
        try:
            kernel.start()
            assert kernel.run("print('hello')", timeout=30).text() == "hello\n"
            run = kernel.run("import sys\nwhile True:\n    sys.stdout.write('E' * 2**20)", timeout=30)
            assert run.status == "died" and run.error_name == "OutputFlood"
        finally:
            kernel.stop()
            scratch.remove()


# --------------------------------------------------------------------------- bubblewrap


def test_bwrap_kernel_is_unprivileged(bwrap_kernel):
    got = _value(bwrap_kernel, "import os, json\nstatus = open('/proc/self/status').read()\n"
                               "cap = [l.split()[1] for l in status.splitlines() if l.startswith('CapEff')][0]\n"
                               "print(json.dumps({'uid': os.getuid(), 'gid': os.getgid(), 'cap': cap}))")
    assert got["uid"] != 0 and got["gid"] != 0
    assert int(got["cap"], 16) == 0


@pytest.fixture
def host_listener():
    """A TCP server on the host's loopback: (port, list of accepted connections)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(0.2)
    accepted, done = [], threading.Event()

    def accept():
        while not done.is_set() and not accepted:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    done.set()
    thread.join(timeout=5)
    server.close()


def test_bwrap_has_no_network(bwrap_kernel, host_listener):
    port, accepted = host_listener
    code = f"""\
import json, socket
out = {{}}
for name, address in [("host-loopback", ("127.0.0.1", {port})), ("outside", ("8.8.8.8", 53)), ("lan", ("10.0.0.1", 80))]:
    try:
        socket.create_connection(address, timeout=3).close()
        out[name] = "connected"
    except OSError as exc:
        out[name] = type(exc).__name__
try:
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("8.8.8.8", 53))
    out["udp"] = "sent"
except OSError as exc:
    out["udp"] = type(exc).__name__
out["interfaces"] = [name for _, name in socket.if_nameindex()]
print(json.dumps(out))
"""
    got = _value(bwrap_kernel, code)
    assert not accepted, "the sandbox reached a server on the host's loopback"
    assert got["host-loopback"] != "connected" and got["outside"] != "connected" and got["lan"] != "connected"
    assert got["udp"] != "sent"
    assert got["interfaces"] == ["lo"]


def test_bwrap_hides_the_course(bwrap_kernel):
    code = f"""\
import json, os
repo = {str(REPO)!r}
print(json.dumps({{"listing": sorted(os.listdir(repo)),
                  "exists": {{name: os.path.exists(os.path.join(repo, name)) for name in
                             ["autograder", "solutions", "source", "release", ".git", "nbgrader_config.py",
                              "gradebook.db", "tests", "examples"]}},
                  "root": sorted(os.listdir("/"))}}))
"""
    got = _value(bwrap_kernel, code)
    assert set(got["listing"]) <= {"src", ".venv"}, got["listing"]  # the toolkit and python, read-only
    assert not any(got["exists"].values()), got["exists"]
    assert "home" not in got["root"] and "autograder" not in got["root"]


def test_bwrap_only_the_scratch_dir_is_writable(bwrap_kernel, tmp_path):
    token = uuid.uuid4().hex
    targets = ["/", "/etc", "/usr", "/usr/lib", "/work", str(REPO), str(REPO / "src" / "mlgrader"), sys.prefix,
               str(Path(sys.prefix) / "lib"), "/root", "/dev", "/proc", str(tmp_path)]
    code = f"""\
import json, os
out = {{}}
for folder in {targets!r} + [os.getcwd(), os.path.expanduser("~"), "/tmp"]:
    path = os.path.join(folder, "probe-{token}")
    try:
        with open(path, "w") as fh:
            fh.write("x")
        out[folder] = "written"
    except OSError as exc:
        out[folder] = type(exc).__name__
print(json.dumps(out))
"""
    got = _value(bwrap_kernel, code)
    written = {folder for folder, what in got.items() if what == "written"}
    assert written == {str(bwrap_kernel.workdir), "/tmp"}, got
    assert (bwrap_kernel.workdir / f"probe-{token}").exists()
    assert not Path(f"/tmp/probe-{token}").exists()  # the sandbox's /tmp is its own
    assert not (tmp_path / f"probe-{token}").exists()


@needs_bwrap
def test_bwrap_workdir_in_a_subfolder_of_tmp(tmp_path):
    """TMPDIR=/tmp/<something> (pytest, many CI runners) must not break bubblewrap grading."""
    workdir = tmp_path / "scratch"
    workdir.mkdir()
    k = SandboxKernel(workdir, Limits(), mode="bubblewrap")
    try:
        k.start()
        assert k.run("print('alive')", timeout=30).ok
    finally:
        k.stop()


def test_bwrap_sees_only_its_own_processes(bwrap_kernel):
    got = _value(bwrap_kernel, "import os, json\nprint(json.dumps(sorted(int(p) for p in os.listdir('/proc') "
                               "if p.isdigit())))")
    assert len(got) < 10, got  # bubblewrap's init, the limiter/kernel and its children
    assert max(got) < 1000, got  # numbers of its own pid namespace


# --------------------------------------------------------------------------- Landlock (fallback mode)
#
# Where the host has Landlock the fallback kernel reaches only what policy.landlock_rules
# allows. The files these tests put out of reach are ones the sandbox user could read or
# write by their permissions (world-readable, world-writable, in folders anyone may enter),
# so that only Landlock stands in the way.

LANDLOCK_ABI = landlock.abi_version()[0]
needs_landlock = pytest.mark.skipif(LANDLOCK_ABI < 1, reason="this host has no Landlock")


def _open_folder(mode: int = 0o755) -> Path:
    """A throwaway folder directly under the system's temporary folder, open to every user."""
    folder = Path(tempfile.mkdtemp(prefix="mlgrader-landlock-test-"))
    folder.chmod(mode)
    return folder


def _sandbox_user_may_read(path: Path) -> bool:
    """Whether the fallback kernel's user could read ``path`` by its permissions alone."""
    if not ROOT:  # the kernel runs as this user
        return os.access(path, os.R_OK)
    return bool(path.stat().st_mode & 0o004) and all(p.stat().st_mode & 0o001 for p in path.parents)


@pytest.fixture(scope="module")
def fallback(tmp_path_factory):
    """A fallback-mode kernel with a read-only data folder (as FashionMNIST is given to it)."""
    data = _open_folder()
    (data / "train.bin").write_bytes(b"\x01\x02\x03")
    (data / "train.bin").chmod(0o644)
    workdir = Path(tempfile.mkdtemp(prefix="mlgrader-sandbox-test-"))
    k = _Kernel(workdir, Limits(), mode="subprocess", readonly_paths=[str(data)])
    k.start()
    k.data = data
    yield k
    k.stop()
    shutil.rmtree(data, ignore_errors=True)


def _attempts(kernel: SandboxKernel, attempts: dict[str, str]) -> dict[str, str]:
    """Run each expression in the kernel: 'ok' or the exception's class name."""
    code = "import json, os, socket\nout = {}\n"
    for name, expression in attempts.items():
        code += (f"try:\n    {expression}\n    out[{name!r}] = 'ok'\n"
                 f"except Exception as exc:\n    out[{name!r}] = type(exc).__name__\n")
    return _value(kernel, code + "print(json.dumps(out))")


@needs_landlock
def test_fallback_landlock_is_applied_and_reported(fallback):
    assert fallback.landlock["applied"] and fallback.landlock["abi"] == LANDLOCK_ABI, fallback.landlock
    assert fallback.landlock["tcp"] == (LANDLOCK_ABI >= 4) and fallback.landlock["scoped"] == (LANDLOCK_ABI >= 6)
    assert not fallback.landlock.get("skipped"), fallback.landlock
    note = fallback.sandbox_note()
    assert note.startswith("graded in the fallback sandbox") and f"with Landlock ABI {LANDLOCK_ABI}" in note


@needs_landlock
def test_fallback_cannot_read_world_readable_files_outside_the_allowed_set(fallback):
    secret = _open_folder() / "id_ed25519"
    secret.write_text(SECRET)
    secret.chmod(0o644)
    hidden_test = REPO / "autograder" / "01-gradient-descent" / "tests" / "gradient_descent" / "test-derivative.py"
    outside = {"secret": secret, "repo_readme": REPO / "README.md", "hidden_test": hidden_test,
               "solution": REPO / "source" / "01-gradient-descent" / "gradient_descent.ipynb",
               "etc_profile": Path("/etc/profile"), "listing_of_root": Path("/"), "listing_of_tmp": Path("/tmp")}
    # only those the sandbox user could read by their permissions: Landlock alone stops it
    outside = {name: path for name, path in outside.items() if path.exists() and _sandbox_user_may_read(path)}
    assert {"secret", "listing_of_root"} <= set(outside)
    try:
        attempts = {name: (f"os.listdir({str(path)!r})" if path.is_dir() else f"open({str(path)!r}).read()")
                    for name, path in outside.items()}
        attempts.update({  # what the kernel needs or is given stays readable
            "numpy": "import numpy",
            "data": f"open({str(fallback.data / 'train.bin')!r}, 'rb').read()",
            "etc_localtime": "open('/etc/localtime', 'rb').read()",
            "cpu_count": "assert len(os.sched_getaffinity(0)) >= 1 and open('/sys/devices/system/cpu/online').read()",
            "proc": "open('/proc/self/status').read()",
            # by the path the kernel imports it from (through the shim when the checkout is private)
            "grader_source": "import mlgrader.checks; open(mlgrader.checks.__file__).read()",
        })
        got = _attempts(fallback, attempts)
    finally:
        shutil.rmtree(secret.parent, ignore_errors=True)
    denied = set(outside)
    assert {name: got[name] for name in denied} == {name: "PermissionError" for name in denied}, got
    allowed = set(got) - denied
    assert {name: got[name] for name in allowed} == {name: "ok" for name in allowed}, got


@needs_landlock
def test_fallback_writes_only_its_scratch(fallback):
    token = uuid.uuid4().hex
    open_to_all = _open_folder(0o777)  # the sandbox user may write here by its permissions
    try:
        targets = {"world_writable": open_to_all, "tmp": Path("/tmp"), "var_tmp": Path("/var/tmp"),
                   "data": fallback.data, "dev_shm": Path("/dev/shm"), "scratch": fallback.workdir}
        attempts = {name: f"open({str(folder / f'probe-{token}')!r}, 'w').write('x')"
                    for name, folder in targets.items() if folder.is_dir()}
        attempts["tmpdir"] = (f"import tempfile; assert tempfile.gettempdir().startswith({str(fallback.workdir)!r}); "
                              f"tempfile.NamedTemporaryFile().close()")
        attempts["dev_null"] = "open('/dev/null', 'w').write('x')"
        attempts["mkdir_world_writable"] = f"os.mkdir({str(open_to_all / token)!r})"
        attempts["unlink_tmp"] = f"os.unlink({str(Path('/tmp') / f'probe-{token}')!r})"
        got = _attempts(fallback, attempts)
        written = {name for name, what in got.items() if what == "ok"}
        assert written == {"dev_shm", "scratch", "tmpdir", "dev_null"} & set(got), got
        assert {got[n] for n in set(got) - written} <= {"PermissionError", "FileNotFoundError"}, got
        assert got["world_writable"] == "PermissionError" and got["mkdir_world_writable"] == "PermissionError", got
        assert not list(open_to_all.iterdir())
        assert not Path(f"/tmp/probe-{token}").exists()
    finally:
        shutil.rmtree(open_to_all, ignore_errors=True)
        Path(f"/dev/shm/probe-{token}").unlink(missing_ok=True)


@pytest.mark.skipif(LANDLOCK_ABI < 4, reason="TCP rules need Landlock ABI 4 (Linux 6.7)")
def test_fallback_opens_no_tcp_connection(fallback, host_listener):
    port, accepted = host_listener
    got = _attempts(fallback, {
        "loopback": f"socket.create_connection(('127.0.0.1', {port}), timeout=3).close()",
        "listen": "s = socket.socket(); s.bind(('0.0.0.0', 0)); s.listen(1)",
        "unix": "socket.socketpair()",  # Unix sockets (the kernel's own transport) still work
    })
    assert not accepted, "the fallback kernel reached a server on the host's loopback"
    assert got == {"loopback": "PermissionError", "listen": "PermissionError", "unix": "ok"}, got


SIGNAL_THE_PARENT = """\
import os, sys
from mlgrader.sandbox import landlock
prepared = landlock.enforce(landlock.prepare(landlock.Policy([("exec", "/")])))
assert landlock.status(prepared)["scoped"], landlock.status(prepared)
try:
    os.kill(int(sys.argv[1]), 0)
    print("signalled")
except PermissionError:
    print("denied")
"""


@pytest.mark.skipif(LANDLOCK_ABI < 6, reason="scoped signals need Landlock ABI 6 (Linux 6.12)")
def test_landlocked_process_cannot_signal_outside_its_domain():
    # As root (or the same user) the kernel could signal the grader but for Landlock's scope.
    out = subprocess.run([sys.executable, "-c", SIGNAL_THE_PARENT, str(os.getpid())], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(REPO / "src")}, timeout=60)
    assert out.stdout.strip() == "denied", out.stderr


NORMAL_NOTEBOOK = """\
import json, subprocess, sys, tempfile
import numpy as np
import torch
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from torch.utils.data import DataLoader, TensorDataset
torch.manual_seed(0)
x, y = torch.randn(256, 10), torch.randn(256, 1)
model = torch.nn.Sequential(torch.nn.Linear(10, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
losses = []
for xb, yb in DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, num_workers=2):  # worker processes
    opt.zero_grad()
    loss = torch.nn.functional.mse_loss(model(xb), yb)
    loss.backward()
    opt.step()
    losses.append(loss.item())
torch.save(model.state_dict(), "model.pt")
plt.plot(losses)
plt.savefig("losses.png")
with tempfile.TemporaryDirectory() as scratch:
    np.save(f"{scratch}/a.npy", np.arange(3))
child = subprocess.run([sys.executable, "-c", "import numpy; print('child ok')"], capture_output=True, text=True)
import threading  # naming another thread (CUDA does) writes /proc/self/task/<tid>/comm
started, done, tids = threading.Event(), threading.Event(), []
thread = threading.Thread(target=lambda: (tids.append(threading.get_native_id()), started.set(), done.wait(10)))
thread.start()
started.wait(10)
with open(f"/proc/self/task/{tids[0]}/comm", "w") as fh:
    fh.write("named-worker")
named = open(f"/proc/self/task/{tids[0]}/comm").read().strip()
done.set()
thread.join()
print(json.dumps({"steps": len(losses), "finite": bool(np.isfinite(losses).all()), "child": child.stdout.strip(),
                  "plot": __import__("os").path.getsize("losses.png") > 0, "thread_name": named}))
"""


@pytest.mark.skipif(os.geteuid() != 0 or not python_access.hidden_python_roots(),
                    reason="only a root grader whose Python other users cannot reach uses the shim")
def test_fallback_realpath_of_the_python_stays_readable(fallback):
    # matplotlib finds its fonts through os.path.realpath(); from a path through the
    # kernel's descriptors that gave the real, unreachable folder, and every plot failed.
    got = _attempts(fallback, {
        "interpreter": "open(os.path.realpath(__import__('sys').executable), 'rb').read(64)",
        "package_file": "import numpy; open(os.path.realpath(numpy.__file__)).read()",
    })
    assert got == {"interpreter": "ok", "package_file": "ok"}, got


@needs_landlock
def test_fallback_runs_a_normal_notebook(fallback):
    got = _value(fallback, NORMAL_NOTEBOOK, timeout=180)
    assert got["steps"] == 8 and got["finite"] and got["plot"], got
    assert got["child"] == "child ok" and got["thread_name"] == "named-worker", got


def test_landlock_handles_only_what_the_abi_knows():
    assert landlock.fs_rights(1) == (1 << 13) - 1
    assert landlock.fs_rights(2) & landlock.FS_REFER and not landlock.fs_rights(2) & landlock.FS_TRUNCATE
    assert landlock.fs_rights(4) == landlock.fs_rights(3) and not landlock.fs_rights(4) & landlock.FS_IOCTL_DEV
    assert landlock.fs_rights(5) & landlock.FS_IOCTL_DEV and landlock.fs_rights(7) == landlock.fs_rights(5)
    assert landlock.net_rights(3) == 0 and landlock.net_rights(4) == 3
    assert landlock.scopes(5) == 0 and landlock.scopes(6) == 3


def test_without_landlock_the_kernel_runs_with_limits_only_and_says_so(monkeypatch):
    monkeypatch.setattr(landlock, "abi_version", lambda: (0, "Landlock is disabled on this host"))
    prepared = landlock.prepare(landlock.Policy([("exec", "/usr")]))
    assert prepared.fd is None and landlock.enforce(prepared) is prepared  # nothing to enforce: no error
    report = landlock.status(prepared)
    assert report == {"abi": 0, "applied": False, "fs": False, "tcp": False, "scoped": False,
                      "reason": "Landlock is disabled on this host"}
    assert landlock.describe(report) == ("without Landlock (Landlock is disabled on this host): resource limits "
                                         "only, file system and network not hidden")
    assert landlock.describe(None).startswith("without Landlock")


def test_landlock_rules_cover_what_the_kernel_needs(tmp_path):
    rules = policy.landlock_rules(tmp_path / "scratch", ["/srv/data"], shim=tmp_path / "shim")
    by_path = {path: access for access, path in rules}
    assert by_path[str(tmp_path / "scratch")] == "write" and by_path["/dev/shm"] == "write"
    assert {p for p, a in by_path.items() if a == "write"} == {str(tmp_path / "scratch"), "/dev/shm"}
    assert by_path["/srv/data"] == "read"
    assert "/usr/share/datasets" not in by_path  # data is the caller's to name (grading: the bundle's data sets)
    assert by_path[str(tmp_path / "shim")] == "exec" and by_path["/usr"] == "exec"
    assert all(by_path.get(p) == "exec" for p in python_access.python_roots())
    assert by_path["/etc/ld.so.cache"] == "read" and "/etc" not in by_path and "/" not in by_path
    assert "/tmp" not in by_path and "/home" not in by_path and "/root" not in by_path
    assert by_path["/dev/null"] == "device"
    assert by_path["/proc"] == ("files" if ROOT and list(Path("/dev").glob("nvidia*")) else "read")
    assert by_path["/proc/self/task"] == "files"  # its own threads' names (CUDA needs them)
    assert "/sys" not in by_path and by_path["/sys/devices/system/cpu"] == "read"


def test_landlock_rules_for_gpus(tmp_path, monkeypatch):
    gpus = [Path("/dev/nvidia0"), Path("/dev/nvidiactl"), Path("/dev/nvidia-uvm")]
    real_glob = Path.glob
    monkeypatch.setattr(Path, "glob", lambda self, pattern: iter(gpus) if str(self) == "/dev" and
                        pattern == "nvidia*" else real_glob(self, pattern))
    by_path = {path: access for access, path in policy.landlock_rules(tmp_path, [])}
    assert all(by_path[str(g)] == "device" for g in gpus)
    assert by_path["/proc"] == ("files" if ROOT else "read")
