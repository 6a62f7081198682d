"""Tests of mlgrader.data on the real FashionMNIST files (no mocked data, never the network)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from mlgrader import data

DEBIAN = data.SYSTEM_DIRS[0]
TEST_FILES = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path):
    """No MLGRADER_DATA, an empty private cache, and downloads forbidden by default."""
    monkeypatch.delenv("MLGRADER_DATA", raising=False)
    monkeypatch.setenv("MLGRADER_OFFLINE", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.fixture(scope="module")
def source_dir() -> Path:
    """The folder holding the real gzipped files (the Debian package's)."""
    if not (DEBIAN / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip("dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)")
    return DEBIAN


@pytest.fixture(scope="module")
def test_split(source_dir):
    """The real test split, read once from the Debian files."""
    return data.fashion_mnist("test", root=source_dir, download=False)


@pytest.fixture(scope="module")
def decompressed_dir(source_dir, tmp_path_factory) -> Path:
    """A folder with the test split decompressed under FashionMNIST/raw/."""
    raw = tmp_path_factory.mktemp("decompressed") / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name in TEST_FILES:
        (raw / name).write_bytes(gzip.decompress((source_dir / f"{name}.gz").read_bytes()))
    return raw.parent.parent


def test_reads_debian_package(source_dir, test_split):
    images, labels = data.fashion_mnist("train")
    assert images.shape == (60000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (60000,) and labels.dtype == np.int64
    assert labels.min() == 0 and labels.max() == 9
    assert np.bincount(labels).tolist() == [6000] * 10
    assert labels[0] == 9 and data.FASHION_CLASSES[labels[0]] == "Ankle boot"
    test_images, test_labels = test_split
    assert test_images.shape == (10000, 28, 28) and test_labels.shape == (10000,)
    assert test_labels[:5].tolist() == [9, 2, 1, 1, 6]
    assert abs(images.mean() / 255 - data.FASHION_MEAN) < 1e-3
    assert abs(images.std() / 255 - data.FASHION_STD) < 1e-3


def test_mlgrader_data_with_decompressed_files(monkeypatch, decompressed_dir, test_split):
    monkeypatch.setenv("MLGRADER_DATA", str(decompressed_dir))
    assert data.find_fashion_mnist("test")[0].parent == decompressed_dir / "FashionMNIST" / "raw"
    images, labels = data.fashion_mnist("test", download=False)
    np.testing.assert_array_equal(images, test_split[0])
    np.testing.assert_array_equal(labels, test_split[1])


def test_mlgrader_data_with_gz_files_in_subfolder(monkeypatch, tmp_path, source_dir, test_split):
    folder = tmp_path / "course-data" / "fashion-mnist"
    folder.mkdir(parents=True)
    for name in TEST_FILES:
        shutil.copy(source_dir / f"{name}.gz", folder)
    monkeypatch.setenv("MLGRADER_DATA", str(folder.parent))
    images_path, labels_path = data.find_fashion_mnist("test")
    assert images_path == folder / "t10k-images-idx3-ubyte.gz"
    images, labels = data.fashion_mnist("test")
    np.testing.assert_array_equal(labels, test_split[1])
    assert images.shape == (10000, 28, 28)


def test_explicit_root_comes_before_mlgrader_data(monkeypatch, tmp_path, decompressed_dir):
    monkeypatch.setenv("MLGRADER_DATA", str(tmp_path))  # empty: would fall through anyway
    found = data.find_fashion_mnist("test", root=decompressed_dir)
    assert found[0].is_relative_to(decompressed_dir)
    places = [desc for desc, _ in data.search_dirs(decompressed_dir)]
    assert places[:2] == ["root argument", "$MLGRADER_DATA"]
    assert places[-1] == "local cache"


def test_truncated_gz_names_the_file(monkeypatch, tmp_path, source_dir):
    for name in TEST_FILES:
        shutil.copy(source_dir / f"{name}.gz", tmp_path)
    broken = tmp_path / "t10k-images-idx3-ubyte.gz"
    broken.write_bytes(broken.read_bytes()[:100_000])
    monkeypatch.setenv("MLGRADER_DATA", str(tmp_path))
    with pytest.raises(data.CorruptDataFile, match="t10k-images-idx3-ubyte.gz") as info:
        data.fashion_mnist("test")
    assert info.value.path == broken
    assert "truncated" in str(info.value)


def test_truncated_and_bad_magic_idx(tmp_path, decompressed_dir):
    raw = decompressed_dir / "FashionMNIST" / "raw"
    short = tmp_path / "t10k-images-idx3-ubyte"
    short.write_bytes((raw / TEST_FILES[0]).read_bytes()[:5000])
    with pytest.raises(data.CorruptDataFile, match=r"t10k-images-idx3-ubyte: is truncated"):
        data.read_idx(short)
    labels = (raw / TEST_FILES[1]).read_bytes()
    swapped = tmp_path / "t10k-labels-idx1-ubyte"
    swapped.write_bytes(b"\x01\x02" + labels[2:])
    with pytest.raises(data.CorruptDataFile, match="bad IDX magic number"):
        data.read_idx(swapped)
    with pytest.raises(data.CorruptDataFile, match="1-dimensional array, expected 3"):
        data.read_idx(raw / TEST_FILES[1], expect_ndim=3)


def test_nothing_found_lists_every_place(monkeypatch, tmp_path):
    missing_system = tmp_path / "usr-share-datasets-fashion-mnist"
    monkeypatch.setattr(data, "SYSTEM_DIRS", (missing_system,))
    monkeypatch.setenv("MLGRADER_DATA", str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(data.DataNotFound) as info:
        data.fashion_mnist("train", root=tmp_path / "nope", download=False)
    assert isinstance(info.value, FileNotFoundError)
    message = str(info.value)
    for place in (tmp_path / "nope", tmp_path / "empty", missing_system, data.cache_dir()):
        assert str(place) in message
    assert "download=False" in message
    for fix in ("apt-get install dataset-fashion-mnist", "MLGRADER_DATA", "internet"):
        assert fix in message


def test_offline_env_skips_download(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "SYSTEM_DIRS", ())
    with pytest.raises(data.DataNotFound, match="MLGRADER_OFFLINE"):
        data.fashion_mnist("test")  # download=None honours MLGRADER_OFFLINE=1
    with pytest.raises(ValueError, match="split"):
        data.fashion_mnist("validation")


def test_tensors(monkeypatch, decompressed_dir, test_split):
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("MLGRADER_DATA", str(decompressed_dir))
    x, y = data.fashion_mnist_tensors("test", normalize=False)
    assert x.shape == (10000, 1, 28, 28) and x.dtype == torch.float32
    assert y.dtype == torch.int64 and y.device.type == "cpu"
    assert x.min() >= 0 and x.max() <= 1
    np.testing.assert_allclose(x[0, 0].numpy() * 255, test_split[0][0], atol=1e-3)
    xn, _ = data.fashion_mnist_tensors("test")
    torch.testing.assert_close(xn, (x - data.FASHION_MEAN) / data.FASHION_STD)


def test_prepare_torchvision_root(tmp_path, test_split):
    datasets = pytest.importorskip("torchvision.datasets")
    root = data.prepare_torchvision_root(tmp_path / "tv")
    assert sorted(p.name for p in (root / "FashionMNIST" / "raw").iterdir()) == sorted(
        ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", *TEST_FILES]
    )
    test = datasets.FashionMNIST(root=str(root), train=False, download=False)
    train = datasets.FashionMNIST(root=str(root), train=True, download=False)
    assert len(test) == 10000 and len(train) == 60000
    np.testing.assert_array_equal(test.targets.numpy(), test_split[1])
    np.testing.assert_array_equal(test.data.numpy(), test_split[0])
    assert train.classes == list(data.FASHION_CLASSES)
    before = (root / "FashionMNIST" / "raw" / TEST_FILES[0]).stat().st_mtime_ns
    data.prepare_torchvision_root(root)  # idempotent: valid files are kept
    assert (root / "FashionMNIST" / "raw" / TEST_FILES[0]).stat().st_mtime_ns == before


def test_digits_split_is_deterministic():
    pytest.importorskip("sklearn")
    X, y = data.digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32 and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0 and set(np.unique(y)) == set(range(10))
    a = data.train_test_split_digits()
    b = data.train_test_split_digits()
    assert [len(part) for part in a] == [1347, 450, 1347, 450]
    for left, right in zip(a, b):
        np.testing.assert_array_equal(left, right)
    assert not np.array_equal(a[1], data.train_test_split_digits(seed=1)[1])


def test_folder_handed_to_the_sandbox_is_the_one_found_first(monkeypatch, tmp_path, source_dir):
    # The grader binds this folder into the kernel: it must be where both splits were found.
    both = tmp_path / "both"
    both.mkdir()
    for file in source_dir.glob("*-ubyte.gz"):
        shutil.copy(file, both / file.name)
    monkeypatch.setenv("MLGRADER_DATA", str(both))
    assert data.fashion_mnist_folder() == both
    only_train = tmp_path / "only-train"
    only_train.mkdir()
    for file in source_dir.glob("train-*-ubyte.gz"):
        shutil.copy(file, only_train / file.name)
    monkeypatch.setenv("MLGRADER_DATA", str(only_train))  # the test split lies elsewhere, or nowhere
    assert data.fashion_mnist_folder() != only_train


def test_a_kernel_gets_only_the_data_sets_its_bundle_declares(monkeypatch, tmp_path, source_dir):
    both = tmp_path / "both"
    both.mkdir()
    for file in source_dir.glob("*-ubyte.gz"):
        shutil.copy(file, both / file.name)
    monkeypatch.setenv("MLGRADER_DATA", str(both))
    none = data.kernel_data(())
    assert none.readonly == () and none.env == {"MLGRADER_OFFLINE": "1"}  # never downloads, sees no data
    fashion = data.kernel_data(("fashion-mnist",))
    assert fashion.readonly == (str(both),)
    assert fashion.env == {"MLGRADER_OFFLINE": "1", "MLGRADER_DATA": str(both)}
    with pytest.raises(ValueError, match="unknown data set"):
        data.kernel_data(("imagenet",))


def test_the_build_declares_the_data_sets_a_notebook_loads():
    assert data.datasets_used_by({"fashion_mnist_tensors", "FASHION_CLASSES"}) == ("fashion-mnist",)
    assert data.datasets_used_by({"digits", "train_test_split_digits"}) == ()


def test_count_keeps_the_first_images_only(monkeypatch, decompressed_dir):
    monkeypatch.setenv("MLGRADER_DATA", str(decompressed_dir))
    all_images, all_labels = data.fashion_mnist("test")
    images, labels = data.fashion_mnist("test", count=100)
    assert images.shape == (100, 28, 28) and labels.shape == (100,)
    np.testing.assert_array_equal(images, all_images[:100])
    np.testing.assert_array_equal(labels, all_labels[:100])
    images[0, 0, 0] = 77  # a copy: the next caller gets the file's values
    assert data.fashion_mnist("test", count=1)[0][0, 0, 0] == all_images[0, 0, 0]
    with pytest.raises(ValueError, match="count"):
        data.fashion_mnist("test", count=-1)
