import json, os, subprocess, sys, tempfile, time, types
from pathlib import Path
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "src"))

class Stub(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        cls = type(name, (), {"__init__": lambda self, *a, **k: None})
        setattr(self, name, cls)
        return cls

for m in ["nbformat", "zmq", "zmq.asyncio", "jupyter_client", "jupyter_client.asynchronous", "jupyter_client.channels",
          "jupyter_client.kernelspec", "jupyter_client.session", "jupyter_core", "jupyter_core.utils", "nbclient",
          "nbclient.exceptions", "traitlets"]:
    sys.modules[m] = Stub(m)
from mlgrader import landlock, sandbox

GPU = r'''
import time, json, os
t = time.time()
import torch
out = {"import_s": round(time.time() - t, 2)}
t = time.time()
out["cuda"] = torch.cuda.is_available()
if out["cuda"]:
    out["name"] = torch.cuda.get_device_name(0)
    x = torch.randn(2048, 2048, device="cuda")
    out["matmul"] = float((x @ x).float().abs().mean())
    m = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(8 * 26 * 26, 10)).cuda()
    opt = torch.optim.Adam(m.parameters())
    xb, yb = torch.randn(64, 1, 28, 28, device="cuda"), torch.randint(0, 10, (64,), device="cuda")
    for _ in range(3):
        opt.zero_grad(); loss = torch.nn.functional.cross_entropy(m(xb), yb); loss.backward(); opt.step()
    torch.cuda.synchronize()
    out["loss"] = float(loss)
out["cuda_s"] = round(time.time() - t, 2)
print("RESULT " + json.dumps(out))
'''
print("abi", landlock.abi_version(), "uname", os.uname().release, "gpus", sorted(os.listdir("/dev")) if False else [p for p in os.listdir("/dev") if p.startswith("nvidia")])
for variant in ("none", "full", "no-whole-sys"):
    work = Path(tempfile.mkdtemp(prefix="mlgrader-gpu-"))
    (work / ".tmp").mkdir()
    rules = sandbox.landlock_rules(work, [])
    if variant == "no-whole-sys":
        rules = [r for r in rules if r != ("read", "/sys")]
    argv = [sys.executable, "-m", "mlgrader.sandbox_exec", "--memory-mb", "65536", "--nproc", "0", "--fsize-mb", "1024",
            "--cpu-s", "600", "--landlock-report", str(work / "report.json")]
    if variant != "none":
        argv += [a for acc, p in rules for a in ("--landlock", f"{acc}:{p}")]
    argv += ["--", sys.executable, "-c", GPU]
    env = {"PATH": os.environ["PATH"], "HOME": str(work), "TMPDIR": str(work / ".tmp"), "PYTHONPATH": str(HERE / "src")}
    t = time.time()
    p = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=200)
    print("==", variant, "rc", p.returncode, "wall", round(time.time() - t, 1), (work / "report.json").read_text() if (work / "report.json").exists() else "")
    print([l for l in p.stdout.splitlines() if l.startswith("RESULT")] or p.stdout[-1500:], p.stderr[-2500:])
