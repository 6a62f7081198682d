"""Values as plain data: the only form in which anything crosses the sandbox boundary.

Both sides use this module: the student's kernel encodes the values a test asks for, the
grader decodes them (and encodes the arguments of calls it makes back). The format is
JSON with typed nodes; arrays and tensors travel as ``.npy`` bytes read back with
``allow_pickle=False``, so decoding never runs code.

Anything that is not data (a function, an ``nn.Module``, an optimizer) is not copied: the
side that owns it hands out an *object reference* through the ``export_object`` callback,
and the other side gets a proxy for it (see :mod:`mlgrader.channel.proxy`).

This module imports only the standard library at import time: numpy and torch are
imported when a value needs them, so the kernel pays nothing for unused frameworks.
"""

from __future__ import annotations

import base64
import io
import sys

MAX_DEPTH = 32
MAX_STRING = 1_000_000
MAX_ITEMS = 100_000


class WireError(ValueError):
    """A value could not be encoded or decoded; the message says which and why."""


def encode(value, export_object, _depth=0) -> dict:
    """Encode ``value`` as JSON-able typed nodes; non-data goes through ``export_object``."""
    if _depth > MAX_DEPTH:
        raise WireError(f"value nested deeper than {MAX_DEPTH} levels")
    if value is None:
        return {"t": "none"}
    if isinstance(value, bool):
        return {"t": "bool", "v": value}
    if isinstance(value, int) and type(value).__module__ == "builtins":
        return {"t": "int", "v": str(value)}
    if isinstance(value, float) and type(value).__module__ == "builtins":
        return {"t": "float", "v": repr(value)}
    if isinstance(value, complex):
        return {"t": "complex", "v": [repr(value.real), repr(value.imag)]}
    if type(value) is str:
        if len(value) > MAX_STRING:
            raise WireError(f"string of {len(value)} characters is longer than {MAX_STRING}")
        return {"t": "str", "v": value}
    if type(value) in (list, tuple):
        _check_length(value)
        kind = "list" if type(value) is list else "tuple"
        return {"t": kind, "v": [encode(v, export_object, _depth + 1) for v in value]}
    if type(value) in (set, frozenset):
        _check_length(value)
        kind = "set" if type(value) is set else "frozenset"
        return {"t": kind, "v": [encode(v, export_object, _depth + 1) for v in value]}
    if isinstance(value, dict) and type(value).__module__ in ("builtins", "collections"):
        _check_length(value)
        items = [[encode(k, export_object, _depth + 1), encode(v, export_object, _depth + 1)] for k, v in value.items()]
        return {"t": "dict", "v": items}
    if _is_tensor(value):
        return _encode_tensor(value, export_object, _depth)
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, (numpy.ndarray, numpy.generic)):
        if value.dtype.hasobject:
            return export_object(value)
        kind = "ndarray" if isinstance(value, numpy.ndarray) else "npscalar"
        return {"t": kind, "npy": _npy_bytes(numpy.asarray(value))}
    if type(value).__name__ == "module" and hasattr(value, "__name__"):
        return {"t": "module", "name": value.__name__}
    return export_object(value)


def _check_length(container) -> None:
    if len(container) > MAX_ITEMS:
        raise WireError(f"container of {len(container)} items is larger than {MAX_ITEMS}; use an array")


def _is_tensor(value) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def _encode_tensor(tensor, export_object, depth) -> dict:
    import torch

    data = tensor.detach()
    if data.layout != torch.strided:
        data = data.to_dense()
    data = data.cpu()
    if data.dtype in (torch.bfloat16,) or str(data.dtype).startswith("torch.float8"):
        data = data.float()  # numpy has no bfloat16; the original dtype travels as a name
    grad = tensor.grad if tensor.is_leaf and tensor.requires_grad else None
    return {
        "t": "tensor",
        "npy": _npy_bytes(data.numpy()),
        "dtype": str(tensor.dtype).replace("torch.", ""),
        "device": str(tensor.device),
        "requires_grad": bool(tensor.requires_grad),
        "parameter": isinstance(tensor, torch.nn.Parameter),
        "grad": encode(grad, export_object, depth + 1) if grad is not None else {"t": "none"},
    }


def _npy_bytes(array) -> str:
    import numpy

    buffer = io.BytesIO()
    # Not ascontiguousarray: it turns a 0-d array (a numpy scalar) into shape (1,).
    array = array if array.flags.c_contiguous else numpy.array(array, order="C")
    numpy.save(buffer, array, allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def decode(node, import_object, _depth=0):
    """Inverse of :func:`encode`; object references go through ``import_object``."""
    if _depth > MAX_DEPTH:
        raise WireError(f"value nested deeper than {MAX_DEPTH} levels")
    if not isinstance(node, dict) or "t" not in node:
        raise WireError(f"malformed value node: {str(node)[:80]}")
    kind = node["t"]
    if kind == "none":
        return None
    if kind == "bool":
        return bool(node["v"])
    if kind == "int":
        text = str(node["v"])
        if len(text) > 4300:
            raise WireError("integer too large")
        return int(text)
    if kind == "float":
        return float(node["v"])
    if kind == "complex":
        return complex(float(node["v"][0]), float(node["v"][1]))
    if kind == "str":
        return str(node["v"])
    if kind in ("list", "tuple"):
        items = [decode(v, import_object, _depth + 1) for v in node["v"][:MAX_ITEMS]]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        return {_hashable(decode(k, import_object, _depth + 1)): decode(v, import_object, _depth + 1) for k, v in node["v"][:MAX_ITEMS]}
    if kind in ("set", "frozenset"):
        items = {_hashable(decode(v, import_object, _depth + 1)) for v in node["v"][:MAX_ITEMS]}
        return items if kind == "set" else frozenset(items)
    if kind == "ndarray":
        return _load_npy(node["npy"])
    if kind == "npscalar":
        return _load_npy(node["npy"])[()]
    if kind == "tensor":
        return _decode_tensor(node, import_object, _depth)
    return import_object(node)


def _hashable(key):
    try:
        hash(key)
    except TypeError:
        raise WireError(f"unhashable dict key or set item of type {type(key).__name__}") from None
    return key


def _load_npy(text: str):
    import numpy

    try:
        raw = base64.b64decode(str(text).encode("ascii"), validate=True)
        array = numpy.load(io.BytesIO(raw), allow_pickle=False)
    except (ValueError, TypeError, UnicodeEncodeError, EOFError, OSError) as exc:
        # Object arrays (pickles) are refused by allow_pickle=False; anything else is not .npy.
        raise WireError(f"not a plain .npy array ({type(exc).__name__}: {str(exc)[:120]})") from None
    if array.dtype.hasobject:  # np.load refuses these already; belt and braces
        raise WireError("object arrays are not data")
    return array


def _decode_tensor(node, import_object, depth):
    import torch

    array = _load_npy(node["npy"])
    tensor = torch.from_numpy(array.copy())
    dtype = getattr(torch, str(node.get("dtype", "")), None)
    if isinstance(dtype, torch.dtype) and dtype != tensor.dtype:
        tensor = tensor.to(dtype)
    if node.get("parameter"):
        tensor = torch.nn.Parameter(tensor, requires_grad=bool(node.get("requires_grad")))
    elif node.get("requires_grad") and (tensor.is_floating_point() or tensor.is_complex()):
        tensor.requires_grad_(True)
    grad = decode(node.get("grad", {"t": "none"}), import_object, depth + 1)
    if grad is not None and tensor.requires_grad and getattr(grad, "shape", None) == tensor.shape:
        tensor.grad = grad.to(tensor.dtype)
    return tensor
