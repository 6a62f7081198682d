"""What the grader and the kernel's helper agree on. Constants only: both sides import this.

The grader executes one short line per request in the kernel::

    __mlgrader_agent__.serve('{"op": "export", "names": ["xs"]}')

and reads the reply, a JSON object ``{"ok": true, "value": NODE}`` or ``{"ok": false,
"error": {"type", "message", "traceback"}}``, from a display_data message of type
:data:`REPLY_MIME`. Values are nodes of :mod:`mlgrader.channel.codec`.
"""

from __future__ import annotations

AGENT_NAME = "__mlgrader_agent__"  # the helper's name in the kernel's namespace
REPLY_MIME = "application/vnd.mlgrader.reply+json"

# Requests: "export" names -> values; the rest act on an object handle the kernel gave out.
OPS = ("export", "call", "getattr", "getitem", "len", "list")


def request_line(request_json: str) -> str:
    """The code the grader runs in the kernel for one request (its JSON text)."""
    return f"{AGENT_NAME}.serve({request_json!r})"


def agent_start_code(seed: int, seed_torch: bool) -> str:
    """The code that installs the helper in a fresh kernel, before any student cell."""
    return (f"import mlgrader.channel.kernel_agent as _mlgrader_agent_module\n"
            f"_mlgrader_agent_module.start(globals(), seed={int(seed)}, seed_torch={bool(seed_torch)})\n"
            f"del _mlgrader_agent_module")
