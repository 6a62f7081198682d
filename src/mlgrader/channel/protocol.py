"""What the grader and the kernel's helper agree on. Constants only: both sides import this.

The grader executes one short line per request in the kernel::

    __mlgrader_agent__.serve()

with the request, a JSON object such as ``{"op": "export", "names": ["xs"]}``, in the
execute_request's metadata under :data:`REQUEST_KEY` (so that a large argument is decoded as
JSON, never parsed as code), and reads the reply, a JSON object ``{"ok": true, "value": NODE}`` or ``{"ok": false,
"error": {"type", "message", "traceback"}}``, from a display_data message of type
:data:`REPLY_MIME`. Values are nodes of :mod:`mlgrader.channel.codec`.
"""

from __future__ import annotations

AGENT_NAME = "__mlgrader_agent__"  # the helper's name in the kernel's namespace
REPLY_MIME = "application/vnd.mlgrader.reply+json"
REQUEST_KEY = "mlgrader_request"  # where the request rides in the execute_request's metadata
SERVE_LINE = f"{AGENT_NAME}.serve()"  # the code the grader runs for every request

# Requests: "export" names -> values; "unset" and "bind" change one name of the notebook (a test
# that deletes a notebook name and puts the notebook's object back); the rest act on an
# object handle the kernel gave out.
OPS = ("export", "unset", "bind", "call", "getattr", "getitem", "len", "list")


def agent_start_code(seed: int, seed_torch: bool) -> str:
    """The code that installs the helper in a fresh kernel, before any student cell."""
    return (f"import mlgrader.channel.kernel_agent as _mlgrader_agent_module\n"
            f"_mlgrader_agent_module.start(globals(), seed={int(seed)}, seed_torch={bool(seed_torch)})\n"
            f"del _mlgrader_agent_module")
