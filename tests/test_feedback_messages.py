"""Feedback for notebooks that were not written for this grader: Colab notebooks, notebooks of
another assignment. Real kernel, real grading; the notebooks are made here from the release."""

from __future__ import annotations

import nbformat

from conftest import ASSIGNMENT, ROOT
from mlgrader.grading import grade_notebook


def _grade(nb: nbformat.NotebookNode, tmp_path, assignment: str = ASSIGNMENT):
    path = tmp_path / "submission.ipynb"
    nbformat.write(nb, path)
    return grade_notebook(path, assignment, ROOT / "autograder")


def test_a_colab_notebook_gets_each_dependence_named_once_and_its_shell_commands_are_not_run(solution_nb, tmp_path):
    colab_cells = [
        "from google.colab import drive\ndrive.mount('/content/drive')",
        "!pip install torch==2.0 gdown\n%pip install -q numpy",
        "!gdown 1AbCdEfGh -O /content/data.npz\n!nvidia-smi",
        "import urllib.request\ntry:\n    urllib.request.urlretrieve('https://example.com/x.npz', '/content/x.npz')\n"
        "except Exception as exc:\n    print(exc)",
        "if True:\n    !ls /content",
    ]
    for offset, source in enumerate(colab_cells):
        solution_nb.cells.insert(1 + offset, nbformat.v4.new_code_cell(source))
    result = _grade(solution_nb, tmp_path)
    notes = "\n".join(result.messages)
    assert result.score == result.max_score  # the solution is still right: nothing here costs points
    assert sum("Google Colab" in m for m in result.messages) == 1 and "google.colab" in notes
    assert sum("downloads data" in m for m in result.messages) == 1 and "mlgrader.data" in notes
    assert sum("absolute path" in m for m in result.messages) == 1 and "/content" in notes
    for note in result.messages:  # sentences a student can read: what was found quoted whole, brackets closed
        assert note.count("(") == note.count(")") and note.count("`") % 2 == 0, note
    assert "(`urlretrieve()`)" in notes
    shell = [m for m in result.messages if m.startswith("shell commands were not run")]
    assert len(shell) == 1 and "!pip install torch" in shell[0]
    assert "No module named 'google'" in notes or all(c.status != "ok" or c.seconds < 5 for c in result.cells)
    # the !pip cell was replaced, so it ran in no time and did not fail
    pip_cell = result.cells[2]
    assert pip_cell.status == "ok" and pip_cell.seconds < 5


def test_a_notebook_of_another_assignment_gets_one_summary_line_first(tmp_path):
    other = nbformat.read(ROOT / "release" / "02-linear-regression" / "linear_regression.ipynb", as_version=4)
    other.metadata.pop("mlgrader", None)  # a copy that no longer says whose it is
    other.metadata.pop("nbgrader", None)
    result = _grade(other, tmp_path)
    assert result.score == 0
    assert result.messages[0].startswith("none of the 4 cells you write in gradient_descent.ipynb")
    assert sum(m.startswith("none of the") for m in result.messages) == 1
    assert any("was missing" in m or "is missing" in m for m in result.messages[1:])  # the repairs follow


def test_a_partly_done_notebook_gets_no_wrong_notebook_line(release_nb, tmp_path):
    result = _grade(release_nb, tmp_path)
    assert not any(m.startswith("none of the") for m in result.messages)
    assert not any("shell commands" in m or "Colab" in m for m in result.messages)


def test_shell_escapes_are_replaced_by_code_that_keeps_the_cell_valid():
    import ast

    from mlgrader.grading.environment import environment_notes, without_shell_escapes

    cell = "import os\nif not os.path.exists('x'):\n    !wget -q http://example.com/x\nfiles = !ls\n%pip install -q torch\nprint(1)"
    cleaned = without_shell_escapes(cell)
    ast.parse(cleaned.source)  # valid Python: the block keeps a body, files stays defined
    assert cleaned.commands == ("!wget -q http://example.com/x", "files = !ls", "%pip install -q torch")
    assert "print(1)" in cleaned.source and "files = []" in cleaned.source
    assert without_shell_escapes("%%bash\nnvidia-smi\n").source.startswith("pass")
    assert without_shell_escapes("x = 1  # a line with ! inside\nprint('!')").commands == ()
    notes = environment_notes(["import requests\nr = requests.get('https://example.com/data.csv')"])
    assert len(notes) == 1 and "no network" in notes[0]  # the download and its URL: named once
