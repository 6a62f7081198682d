"""The handle of a warm kernel: ``python -I spawn.py CONTROL --uid U --workdir W -f CONNECTION_FILE``.

jupyter_client starts a kernel as a process of its own and watches, interrupts and kills
that process. A warm kernel is forked by the zygote instead (:mod:`mlgrader.sandbox.zygote`),
so this small process stands in for it: it asks the zygote for the kernel (sending its own
environment, which is the kernel's), then waits, and exits with the kernel's exit status.
Killing it kills the kernel: the zygote sees the connection close.

It runs as the grader (root), before the kernel exists, with the kernel's environment,
whose HOME is the scratch folder: so it imports nothing but the standard library and is
started isolated (``python -I``, by path), reading no ``PYTHON*`` variable and no user site.
"""

import argparse
import json
import os
import socket
import sys


def main() -> int:
    parser = argparse.ArgumentParser(prog="mlgrader-spawn")
    parser.add_argument("control")
    parser.add_argument("--uid", type=int, required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--limits", required=True, help="JSON: memory_mb, nproc, fsize_mb, cpu_s")
    parser.add_argument("-f", dest="connection_file", required=True)
    opts = parser.parse_args()
    request = {"op": "spawn", "uid": opts.uid, "workdir": opts.workdir, "connection_file": opts.connection_file,
               "limits": json.loads(opts.limits), "env": dict(os.environ)}
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(opts.control)
    connection.sendall(json.dumps(request).encode() + b"\n")
    reader = connection.makefile("rb")
    answer = json.loads(reader.readline() or b"{}")
    if not answer.get("ok"):
        print(f"mlgrader: the warm kernel was refused: {answer.get('error', 'no answer')}", file=sys.stderr)
        return 1
    for line in reader:  # blocks until the kernel ends (or the zygote does)
        message = json.loads(line)
        if "exit" in message:
            return int(message["exit"]) & 0xFF
    return 1


if __name__ == "__main__":
    sys.exit(main())
