"""The wheel and the pinned requirements every target carries."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from mlgrader.authoring.solution import read_solution
from mlgrader.authoring.targets.requirements import CUDA_ONLY, assignment_requirements
from mlgrader.authoring.targets.wheel import INSTRUCTOR_ONLY, wheel_bytes, wheel_name

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "mlgrader"


def test_the_wheel_is_byte_reproducible_and_holds_every_module():
    first, second = wheel_bytes(), wheel_bytes()
    assert first == second
    archive = zipfile.ZipFile(io.BytesIO(first))
    names = archive.namelist()
    assert names == sorted(names)
    modules = {f"mlgrader/{p.relative_to(PACKAGE).as_posix()}" for p in PACKAGE.rglob("*.py")
               if "__pycache__" not in p.parts and p.relative_to(PACKAGE).parts[0] not in INSTRUCTOR_ONLY}
    assert modules <= set(names)
    assert "mlgrader/checks/__init__.py" in names and "mlgrader/grading/public_checks.py" in names
    # what students receive carries no instructor's package (the scaffold's hidden-test template)
    assert not [n for n in names if n.startswith(("mlgrader/authoring/", "mlgrader/validate/"))]
    assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in archive.infolist())
    assert wheel_name() == "mlgrader-0.1.0-py3-none-any.whl"


def test_the_wheel_record_matches_its_files():
    archive = zipfile.ZipFile(io.BytesIO(wheel_bytes()))
    record = archive.read("mlgrader-0.1.0.dist-info/RECORD").decode().splitlines()
    for line in record:
        path, digest, size = line.rsplit(",", 2)
        if path.endswith("RECORD"):
            continue
        data = archive.read(path)
        expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert digest == f"sha256={expected}" and int(size) == len(data), path
    assert len(record) == len(archive.namelist())


def test_pip_installs_the_wheel_with_its_console_script(tmp_path):
    wheel = tmp_path / wheel_name()
    wheel.write_bytes(wheel_bytes())
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    install = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    clean_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the installed wheel, not a checkout
    probe = subprocess.run([str(venv / "bin" / "python"), "-c", "import mlgrader.checks, mlgrader; print(mlgrader.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, env=clean_env)
    assert str(venv) in probe.stdout, probe.stderr
    help_text = subprocess.run([str(venv / "bin" / "mlgrader"), "--help"], capture_output=True, text=True, env=clean_env)
    assert help_text.returncode == 0 and "grade-batch" in help_text.stdout
    for command in (["build"], ["validate"], ["new", "07-knn", "--root", str(tmp_path)]):
        refused = subprocess.run([str(venv / "bin" / "mlgrader"), *command], capture_output=True, text=True,
                                 env=clean_env, cwd=tmp_path)
        assert refused.returncode == 2, refused.stderr
        assert "instructor's command" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "solutions").exists()


def test_pins_are_the_installed_versions_without_cuda_parts():
    pins = assignment_requirements([read_solution(ROOT / "solutions/05-fashion-mnist-gpu/fashion_mnist_gpu.py")])
    versions = dict(pin.split("==") for pin in pins.pins)
    assert versions["torch"] == importlib.metadata.version("torch")
    assert {"torch", "torchvision", "numpy", "ipykernel", "nbclient", "safetensors"} <= set(versions)
    assert not [name for name in versions if CUDA_ONLY.match(name)]
    assert pins.needs_torch_index and "--extra-index-url https://download.pytorch.org/whl/cpu" in pins.text("t")
    assert "mlgrader" not in versions  # installed from the wheel, never by name


def test_a_numpy_only_assignment_needs_no_torch():
    pins = assignment_requirements([read_solution(ROOT / "solutions/01-gradient-descent/gradient_descent.py")])
    names = {pin.split("==")[0] for pin in pins.pins}
    assert "numpy" in names and "torch" not in names and not pins.needs_torch_index
