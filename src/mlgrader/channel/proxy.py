"""The grader's side of the request/response channel into a student's kernel.

Tests run in the trusted grader process. When a test names a notebook variable, the
:class:`Channel` asks the kernel's agent for it and gets *data* back (see
:mod:`mlgrader.channel.codec`); anything that is not data arrives as a :class:`RemoteObject`, a
proxy whose calls, attribute reads and indexing are new requests. Nothing the kernel
sends is ever executed or unpickled here, and nothing of the test is ever sent there
except the arguments a test passes to student functions.
"""

from __future__ import annotations

import builtins
import importlib
import json
import time

from ..checks import PROXY_TYPE_NAMES_ATTRIBUTE
from ..config import DEFAULT_CELL_TIMEOUT_S
from .codec import WireError, decode, encode
from .protocol import REPLY_MIME, REQUEST_KEY, SERVE_LINE

# Modules a notebook variable may name (``np``, ``torch``, ``F``): the grader uses its own
# copy. Only these exact names: a name sent by the kernel is never a reason to import (and
# so run) a module the grader did not choose, such as some package's ``__main__``.
IMPORTABLE_MODULES = frozenset({
    "numpy", "numpy.linalg", "numpy.random", "numpy.testing", "math", "random", "statistics",
    "collections", "itertools", "functools", "torch", "torch.nn", "torch.nn.functional",
    "torch.optim", "torch.linalg", "torch.utils.data", "sklearn", "scipy", "pandas",
    "mlgrader", "mlgrader.checks", "mlgrader.data",
})


class RemoteError(Exception):
    """Student code raised while the grader called into the notebook.

    Made with :func:`remote_error`, it is also an instance of the built-in exception the
    student's code raised (``ValueError``, ``NameError``...), so that a test's ``except
    ValueError:`` sees it as the test's author meant. Its class is the grader's own: nothing
    of the student's exception object crosses, only its type name and text.
    """

    def __init__(self, what: str, type_name: str, message: str, traceback: str):
        super().__init__(f"{what} raised {type_name}: {message}")
        self.what, self.type_name, self.message, self.traceback = what, type_name, message, traceback


# Built-in exceptions a remote error is never dressed as: they steer control flow, not errors.
_NOT_MIRRORED = frozenset({"StopIteration", "StopAsyncIteration"})


def remote_error(what: str, type_name: str, message: str, traceback: str) -> RemoteError:
    """A :class:`RemoteError` that is also the built-in exception named ``type_name`` (when it is one)."""
    builtin = getattr(builtins, type_name, None) if type_name not in _NOT_MIRRORED else None
    if isinstance(builtin, type) and issubclass(builtin, Exception):
        for base in builtin.__mro__:  # some (UnicodeDecodeError) need arguments: use their parent
            if base is Exception or not issubclass(base, Exception):
                break
            try:
                return type(f"Remote{base.__name__}", (RemoteError, base), {})(what, type_name, message, traceback)
            except TypeError:
                continue
    return RemoteError(what, type_name, message, traceback)


class RemoteUnavailable(Exception):
    """The kernel gave no usable answer: it timed out, died or lost the agent."""


class Missing:
    """Stands for a name the notebook does not define."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING = Missing()


class UnavailableModule:
    """A notebook name bound to a module the grader will not import."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr):
        raise RemoteUnavailable(f"the test cannot use module {self._name!r} from the notebook")


class Channel:
    """Sends requests to the agent in one kernel and decodes the answers."""

    def __init__(self, kernel, default_timeout: float = DEFAULT_CELL_TIMEOUT_S):
        self._kernel = kernel
        self._default_timeout = default_timeout
        self.deadline: float | None = None  # monotonic time by which a request must finish

    def _timeout(self) -> float:
        if self.deadline is None:
            return self._default_timeout
        return max(1.0, self.deadline - time.monotonic())

    def request(self, what: str, op: str, **fields):
        request = {"op": op, **fields}
        try:
            json.dumps(request)  # fail here, with the test's words, not in the session's serializer
        except (TypeError, ValueError) as exc:
            raise WireError(f"cannot send the arguments of {what}: {exc}") from None
        timeout = self._timeout()
        run = self._kernel.run(SERVE_LINE, timeout, store_history=False, reply_mime=REPLY_MIME,
                               request_metadata={REQUEST_KEY: request})
        if run.status == "timeout":
            raise RemoteUnavailable(f"{what} did not finish within {timeout:.0f} s (an endless loop?)")
        if run.status == "died" and run.error_name == "OutputFlood":
            raise RemoteUnavailable(f"the notebook's kernel was stopped during {what}: {run.error_value}")
        if run.status == "died":
            raise RemoteUnavailable(
                f"the notebook's kernel died during {what} (os._exit, a crash, or the memory limit)")
        reply = _first_reply(run.outputs)
        if reply is None:
            detail = f": {run.error_name}: {run.error_value}" if run.status == "error" else ""
            raise RemoteUnavailable(
                f"the notebook's kernel gave no answer for {what}{detail} "
                "(was the grader's helper in the kernel deleted or replaced?)")
        if not reply.get("ok"):
            err = reply.get("error") or {}
            raise remote_error(what, str(err.get("type", "Exception")), str(err.get("message", "")),
                               str(err.get("traceback", "")))
        try:
            return decode(reply["value"], lambda node: self._import(node, what))
        except WireError:
            raise
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError) as exc:
            # A reply that is not what the agent sends: malformed nodes, pickled arrays, ...
            raise WireError(f"the notebook's answer for {what} is not valid data "
                            f"({type(exc).__name__}: {str(exc)[:200]})") from None

    def _import(self, node: dict, label: str):
        kind = node.get("t")
        if kind == "missing":
            return MISSING
        if kind == "module":
            return _grader_module(str(node.get("name", "")))
        if kind == "object":
            return RemoteObject(self, node, label)
        raise WireError(f"unexpected value node {kind!r}")

    def export(self, names: list[str]) -> dict[str, object]:
        """The current values of ``names`` in the notebook (MISSING where undefined)."""
        if not names:
            return {}
        answer = self.request("reading " + ", ".join(names), "export", names=names)
        if not isinstance(answer, dict):
            raise WireError("the kernel's answer was not a mapping of names")
        out = {}
        for name in names:
            value = answer.get(name, MISSING)
            out[name] = _relabel(value, name)
        return out

    def encode_argument(self, value) -> dict:
        return encode(value, _reference_of)

    def unset(self, name: str) -> None:
        """Remove ``name`` from the notebook's namespace (a test's ``del name``, mirrored)."""
        self.request(f"deleting {name}", "unset", name=name)

    def bind(self, name: str, value: "RemoteObject") -> None:
        """Bind ``name`` in the notebook to one of its own objects again (a test putting back what it
        deleted). Only the notebook's objects go back, never a value the test made: that could
        carry hidden test data into student code."""
        self.request(f"restoring {name}", "bind", name=name, value=_reference_of(value))


def _relabel(value, name):
    if isinstance(value, RemoteObject):
        object.__setattr__(value, "_RemoteObject__label", name)
    return value


def _reference_of(value) -> dict:
    if isinstance(value, RemoteObject):
        return {"t": "object", "handle": object.__getattribute__(value, "_RemoteObject__handle")}
    raise WireError(f"a {type(value).__name__} cannot be sent to the notebook; send arrays, tensors or numbers")


def _grader_module(name: str):
    if name not in IMPORTABLE_MODULES:
        return UnavailableModule(name)
    try:
        return importlib.import_module(name)
    except ImportError:
        return UnavailableModule(name)


def _first_reply(outputs: list) -> dict | None:
    for out in outputs:
        if out.get("output_type") == "display_data" and REPLY_MIME in out.get("data", {}):
            reply = out["data"][REPLY_MIME]
            return reply if isinstance(reply, dict) else None
    return None


class RemoteObject:
    """A proxy for a notebook object that is not data (a function, a model, ...).

    ``f(x)`` calls the student's ``f`` in the kernel on a copy of ``x``; ``model.weight``
    and ``model.state_dict()`` fetch copies. ``isinstance`` does not see the remote type:
    use :func:`mlgrader.checks.check_type`, which reads the names of the remote type's
    classes from the attribute :data:`mlgrader.checks.PROXY_TYPE_NAMES_ATTRIBUTE`.
    """

    __slots__ = ("__channel", "__handle", "__label", "__type_names", "__repr", "__callable")

    def __init__(self, channel: Channel, node: dict, label: str):
        object.__setattr__(self, "_RemoteObject__channel", channel)
        object.__setattr__(self, "_RemoteObject__handle", int(node["handle"]))
        object.__setattr__(self, "_RemoteObject__label", label)
        object.__setattr__(self, "_RemoteObject__type_names", tuple(str(n) for n in node.get("type_names", [])))
        object.__setattr__(self, "_RemoteObject__repr", str(node.get("repr", ""))[:300])
        object.__setattr__(self, "_RemoteObject__callable", bool(node.get("callable")))

    def __own_type_names(self) -> tuple[str, ...]:
        return self.__type_names

    def __request(self, what: str, op: str, **fields):
        return self.__channel.request(what, op, handle=self.__handle, **fields)

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return _relabel(self.__request(f"reading {self.__label}.{name}", "getattr", name=name), f"{self.__label}.{name}")

    def __setattr__(self, name, value):
        raise AttributeError("tests cannot change notebook objects")

    def __call__(self, *args, **kwargs):
        if not self.__callable:
            raise TypeError(f"{self.__label} is not callable in the notebook ({self.__repr})")
        encoded_args = [self.__channel.encode_argument(a) for a in args]
        encoded_kwargs = {k: self.__channel.encode_argument(v) for k, v in kwargs.items()}
        what = f"calling {self.__label}(...)"
        return _relabel(self.__request(what, "call", args=encoded_args, kwargs=encoded_kwargs), f"{self.__label}(...)")

    def __getitem__(self, key):
        return self.__request(f"reading {self.__label}[{key!r}]", "getitem", key=self.__channel.encode_argument(key))

    def __len__(self) -> int:
        n = self.__request(f"len({self.__label})", "len")
        if not isinstance(n, int):
            raise TypeError(f"len({self.__label}) did not return an int")
        return n

    def __iter__(self):
        items = self.__request(f"iterating over {self.__label}", "list")
        return iter(items if isinstance(items, list) else [])

    def __repr__(self) -> str:
        kind = self.__type_names[0] if self.__type_names else "object"
        return f"<notebook {kind} {self.__label}: {self.__repr}>"


def wait_budget(seconds: float) -> float:
    """A deadline ``seconds`` from now, for :attr:`Channel.deadline`."""
    return time.monotonic() + seconds


# The check library defines the attribute (it reads it); the proxy provides it.
setattr(RemoteObject, PROXY_TYPE_NAMES_ATTRIBUTE, property(RemoteObject._RemoteObject__own_type_names))
