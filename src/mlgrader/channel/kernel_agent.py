"""The grader's helper inside the student's kernel: answers requests with data.

This module runs in the sandboxed kernel, next to student code, so it is *untrusted* by
design: a student can patch or replace it. That only ever changes what the notebook
reports about itself, exactly as if the student had computed those values. Verdicts are
decided in the grader, never here; nothing of the tests is ever sent to this side.

The request and reply formats are in :mod:`mlgrader.channel.protocol`; values travel as
nodes of :mod:`mlgrader.channel.codec`.
"""

from __future__ import annotations

import sys
import traceback

from ..seeding import seed_everything
from .codec import MAX_ITEMS, WireError, decode, encode
from .protocol import AGENT_NAME, REPLY_MIME, REQUEST_KEY


class Agent:
    """Answers the grader's requests about one kernel's namespace."""

    def __init__(self, namespace: dict):
        self._namespace = namespace
        self._objects: dict[int, object] = {}

    # -- entry point ------------------------------------------------------------------

    def serve(self) -> None:
        """Answer the request that came with the running cell's execute_request."""
        try:
            request = _current_request()
            reply = {"ok": True, "value": self._dispatch(request)}
        except KeyboardInterrupt:
            raise  # the grader interrupted a call that ran out of time
        except Exception as exc:  # student code may raise anything; report it as data
            reply = {"ok": False, "error": _describe_exception(exc)}
        _publish(reply)

    def _dispatch(self, request: dict):
        op = request["op"]
        if op == "export":
            pairs = [[{"t": "str", "v": str(name)}, self._export_name(str(name))] for name in request["names"]]
            return {"t": "dict", "v": pairs}
        if op == "unset":
            self._namespace.pop(str(request["name"]), None)
            return {"t": "none"}
        if op == "bind":
            self._namespace[str(request["name"])] = self._import_object(request["value"])
            return {"t": "none"}
        target = self._objects[int(request["handle"])] if "handle" in request else None
        if op == "call":
            args = [self._decode(a) for a in request.get("args", [])]
            kwargs = {k: self._decode(v) for k, v in request.get("kwargs", {}).items()}
            args, kwargs = _on_module_device(target, args, kwargs)
            return self._encode(target(*args, **kwargs))
        if op == "getattr":
            return self._encode(getattr(target, request["name"]))
        if op == "getitem":
            return self._encode(target[self._decode(request["key"])])
        if op == "len":
            return self._encode(len(target))
        if op == "list":
            items = []
            for item in target:
                if len(items) >= MAX_ITEMS:
                    raise WireError(f"more than {MAX_ITEMS} items")
                items.append(item)
            return self._encode(items)
        raise ValueError(f"unknown request {op!r}")

    # -- values -------------------------------------------------------------------------

    def _export_name(self, name: str) -> dict:
        if name not in self._namespace:
            return {"t": "missing"}
        return self._encode(self._namespace[name])

    def _encode(self, value) -> dict:
        return encode(value, self._export_object)

    def _decode(self, node):
        return decode(node, self._import_object)

    def _export_object(self, obj) -> dict:
        handle = len(self._objects) + 1
        self._objects[handle] = obj
        return {
            "t": "object",
            "handle": handle,
            "type_names": _type_names(obj),
            "repr": _safe_repr(obj),
            "callable": callable(obj),
        }

    def _import_object(self, node) -> object:
        if node.get("t") == "object" and int(node.get("handle", 0)) in self._objects:
            return self._objects[int(node["handle"])]
        raise WireError(f"unknown object reference {node!r}")


def _type_names(obj) -> list[str]:
    names = []
    for cls in type(obj).__mro__:
        names.append(f"{cls.__module__}.{cls.__qualname__}")
    return names


def _safe_repr(obj) -> str:
    try:
        text = repr(obj)
    except Exception as exc:  # a student's __repr__ may be broken
        text = f"<{type(obj).__name__}: repr raised {type(exc).__name__}>"
    return text if len(text) <= 300 else text[:297] + "..."


def _on_module_device(target, args, kwargs):
    """Move tensor arguments to the device of an ``nn.Module`` being called.

    The grader builds its inputs on the CPU; a model trained on a GPU stays there, so a
    forward pass would fail for a reason that is not the student's mistake.
    """
    torch = sys.modules.get("torch")  # a notebook that never imported torch has no modules
    if torch is None or not isinstance(target, torch.nn.Module):
        return args, kwargs
    parameter = next(target.parameters(), None)
    if parameter is None:
        return args, kwargs
    move = lambda v: v.to(parameter.device) if isinstance(v, torch.Tensor) else v  # noqa: E731
    return [move(a) for a in args], {k: move(v) for k, v in kwargs.items()}


def _describe_exception(exc: BaseException) -> dict:
    frames = traceback.format_exception(type(exc), exc, exc.__traceback__)
    # Drop this module's own frames: the student needs the lines of their code.
    text = "".join(f for f in frames if __file__ not in f)
    return {"type": type(exc).__name__, "message": str(exc)[:2000], "traceback": text[-4000:]}


def _current_request() -> dict:
    from IPython import get_ipython

    request = get_ipython().kernel.get_parent().get("metadata", {}).get(REQUEST_KEY)
    if not isinstance(request, dict):
        raise ValueError("no mlgrader request came with this cell")
    return request


def _publish(reply: dict) -> None:
    from IPython.display import publish_display_data

    publish_display_data({REPLY_MIME: reply})


def start(namespace: dict, seed: int = 0, seed_torch: bool = False) -> Agent:
    """Install the agent in the kernel namespace and seed the random generators."""
    seed_everything(seed, import_torch=seed_torch)
    agent = Agent(namespace)
    namespace[AGENT_NAME] = agent
    return agent
