"""Unit tests of the trust boundary: the codec, and the grader's proxy talking to the kernel's helper.

The codec tests are pure: every kind of plain data survives a round trip, limits hold, and
anything that is not plain data is refused or handed out as an object reference (never
pickled). The channel tests talk to the real helper in one real sandboxed kernel.
"""

from __future__ import annotations

import base64
import io
import json
import math
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from mlgrader.channel import protocol
from mlgrader.channel.codec import MAX_DEPTH, MAX_ITEMS, MAX_STRING, WireError, decode, encode
from mlgrader.channel.proxy import MISSING, Channel, RemoteError, RemoteObject, RemoteUnavailable, UnavailableModule
from mlgrader.checks import PROXY_TYPE_NAMES_ATTRIBUTE, check_type


def no_objects(value):
    raise AssertionError(f"{value!r} should have travelled as data")


def round_trip(value):
    node = encode(value, no_objects)
    json.dumps(node)  # nodes are JSON, nothing else
    return decode(json.loads(json.dumps(node)), no_objects)


# --- the codec -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [
    None, True, False, 0, -7, 10**300, 1.5, -0.0, 1e-300, complex(1, -2), "", "héllo\n\x00",
    [1, [2, [3]]], (1, "a", None), {"a": 1, 2: [3], (1, 2): "tuple key"}, {}, [],
    {2, 3, 5}, frozenset({"a", (1, 2)}), set(),
])
def test_plain_values_survive_a_round_trip(value):
    back = round_trip(value)
    assert back == value and type(back) is type(value)


def test_a_set_subclass_is_no_data():
    class LyingSet(set):
        def __eq__(self, other):
            return True

    exported = []
    encode(LyingSet({1}), lambda value: exported.append(value) or {"t": "object", "handle": 1})
    assert len(exported) == 1  # it crosses as an object the grader can only ask about


def test_floats_keep_nan_and_infinities():
    back = round_trip([math.nan, math.inf, -math.inf])
    assert math.isnan(back[0]) and back[1:] == [math.inf, -math.inf]


@pytest.mark.parametrize("array", [
    np.arange(12, dtype=np.float32).reshape(3, 4), np.array([[1, 2], [3, 4]], dtype=np.int64).T,
    np.array([True, False]), np.zeros((0, 3)), np.array([1 + 2j], dtype=np.complex64), np.array("text"),
])
def test_arrays_survive_with_shape_and_dtype(array):
    back = round_trip(array)
    assert isinstance(back, np.ndarray) and back.dtype == array.dtype and back.shape == array.shape
    assert np.array_equal(back, array)


def test_numpy_scalars_stay_numpy_scalars():
    back = round_trip(np.float32(2.5))
    assert isinstance(back, np.float32) and back == 2.5


def test_tensors_keep_dtype_gradients_and_parameters():
    weight = torch.nn.Parameter(torch.tensor([[1.0, -2.0]]))
    (weight * 3).sum().backward()
    back = round_trip({"w": weight, "half": torch.ones(2, dtype=torch.bfloat16), "i": torch.arange(3)})
    assert isinstance(back["w"], torch.nn.Parameter) and back["w"].requires_grad
    assert torch.equal(back["w"].grad, torch.full((1, 2), 3.0))
    assert back["half"].dtype == torch.bfloat16 and back["i"].dtype == torch.int64


def test_modules_travel_by_name():
    assert encode(np, no_objects) == {"t": "module", "name": "numpy"}


def test_what_is_not_data_is_handed_out_as_a_reference():
    handed = []

    def export(obj):
        handed.append(obj)
        return {"t": "object", "handle": len(handed)}

    node = encode([len, np.array([object()], dtype=object), torch.nn.Linear(1, 1)], export)
    assert [n["t"] for n in node["v"]] == ["object"] * 3
    assert handed[0] is len and handed[1].dtype == object  # never pickled


@pytest.mark.parametrize("value, message", [
    ("x" * (MAX_STRING + 1), "longer than"),
    (list(range(MAX_ITEMS + 1)), "larger than"),
])
def test_encoding_refuses_oversized_values(value, message):
    with pytest.raises(WireError, match=message):
        encode(value, no_objects)


def test_encoding_and_decoding_refuse_deep_nesting():
    deep = []
    for _ in range(MAX_DEPTH + 2):
        deep = [deep]
    with pytest.raises(WireError, match="nested deeper"):
        encode(deep, no_objects)
    node = {"t": "none"}
    for _ in range(MAX_DEPTH + 2):
        node = {"t": "list", "v": [node]}
    with pytest.raises(WireError, match="nested deeper"):
        decode(node, no_objects)


def npy_node(array, allow_pickle=False) -> dict:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return {"t": "ndarray", "npy": base64.b64encode(buffer.getvalue()).decode()}


@pytest.mark.parametrize("node", [
    npy_node(np.array([{"a": 1}], dtype=object), allow_pickle=True),  # a pickle inside .npy
    {"t": "ndarray", "npy": "not base64 at all!"},
    {"t": "ndarray", "npy": base64.b64encode(b"\x93NUMPY garbage").decode()},
    {"t": "int", "v": "9" * 5000},
    {"v": 1},
    "a bare string",
    {"t": "dict", "v": [[{"t": "list", "v": []}, {"t": "none"}]]},  # an unhashable key
], ids=["pickled-array", "bad-base64", "bad-npy", "huge-int", "no-type", "not-a-node", "unhashable-key"])
def test_decoding_refuses_anything_but_plain_data(node):
    with pytest.raises(WireError):
        decode(node, no_objects)


def test_unknown_nodes_go_to_the_importer_never_run():
    seen = []
    decode({"t": "object", "handle": 3}, lambda node: seen.append(node))
    assert seen == [{"t": "object", "handle": 3}]


# --- the channel, against the real helper in a real sandboxed kernel -----------------------------

NOTEBOOK = """
import numpy as np
xs = np.linspace(0, 1, 5)
def square(v):
    return v * v
def broken(v):
    raise ValueError(f"bad input {v}")
class Box:
    size = 3
    def __len__(self):
        return 2
    def __getitem__(self, key):
        return key * 10
    def __iter__(self):
        return iter([1, 2])
box = Box()
import os
"""


@pytest.fixture(scope="module")
def channel():
    from mlgrader.sandbox.kernel import SandboxKernel
    from mlgrader.sandbox.limits import Limits

    workdir = Path(tempfile.mkdtemp(prefix="mlgrader-channel-test-"))
    kernel = SandboxKernel(workdir, Limits(memory_mb=2048))
    kernel.start()
    try:
        assert kernel.run(protocol.agent_start_code(seed=0, seed_torch=False), timeout=120).ok
        assert kernel.run(NOTEBOOK, timeout=60).ok
        yield Channel(kernel, default_timeout=30)
    finally:
        kernel.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def test_export_reads_values_as_copies(channel):
    values = channel.export(["xs", "undefined_name"])
    assert np.allclose(values["xs"], np.linspace(0, 1, 5))
    assert values["undefined_name"] is MISSING


def test_calls_run_in_the_kernel_on_copies(channel):
    square = channel.export(["square"])["square"]
    assert isinstance(square, RemoteObject)
    assert np.array_equal(square(np.array([2.0, 3.0])), [4.0, 9.0])
    assert check_type(square, "function") is None
    assert "function" in getattr(square, PROXY_TYPE_NAMES_ATTRIBUTE)[0]


def test_student_exceptions_come_back_as_remote_errors(channel):
    broken = channel.export(["broken"])["broken"]
    with pytest.raises(RemoteError) as caught:
        broken(7)
    assert caught.value.type_name == "ValueError" and "bad input 7" in caught.value.message
    assert "mlgrader" not in caught.value.traceback  # the student sees their own lines


def test_objects_answer_attributes_items_len_and_iteration(channel):
    box = channel.export(["box"])["box"]
    assert box.size == 3 and box[4] == 40 and len(box) == 2 and list(box) == [1, 2]
    with pytest.raises(AttributeError):
        box.size = 4  # tests cannot change notebook objects


def test_modules_are_the_graders_own_copies_and_only_allowlisted_ones(channel):
    values = channel.export(["np", "os"])
    assert values["np"] is np
    assert isinstance(values["os"], UnavailableModule)
    with pytest.raises(RemoteUnavailable):
        values["os"].system


def test_a_forged_pickled_reply_is_refused(channel):
    forged = npy_node(np.array([{"a": 1}], dtype=object), allow_pickle=True)
    code = ("from IPython.display import publish_display_data\n"
            f"publish_display_data({{{protocol.REPLY_MIME!r}: {{'ok': True, 'value': {forged!r}}}}})")
    run = channel._kernel.run(f"def _forge(*a, **k):\n    exec({code!r})\n{protocol.AGENT_NAME}.serve = _forge",
                              timeout=30)
    assert run.ok
    try:
        with pytest.raises(WireError):
            channel.export(["xs"])
    finally:  # put the real helper back for the other tests
        assert channel._kernel.run(protocol.agent_start_code(seed=0, seed_torch=False), timeout=60).ok


def test_a_deleted_helper_leaves_the_grader_without_an_answer(channel):
    assert channel._kernel.run(f"del {protocol.AGENT_NAME}", timeout=30).ok
    try:
        with pytest.raises(RemoteUnavailable, match="no answer"):
            channel.export(["xs"])
    finally:
        assert channel._kernel.run(protocol.agent_start_code(seed=0, seed_torch=False), timeout=60).ok
