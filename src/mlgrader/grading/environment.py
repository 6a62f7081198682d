"""What a notebook expects of the machine it runs on, told before its cells run.

Notebooks written for Colab or a laptop with internet install packages with ``!pip``, mount
Google Drive, download data and read files under /content. On the grader none of that
works (no network, no Colab, a scratch folder), and the raw errors that follow
(``URLError``, "No module named 'google'", a ModuleNotFoundError cells later) do not say
why. So the grader reads the code first: each kind of dependence is named once, in the
notebook's summary, with what to do instead; and shell escapes are not run at all (they
would only spend the time limit on a network that is not there), which the summary says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A line that IPython hands to the shell or to a package manager: !cmd, %pip, %conda, %sx.
_SHELL_LINE = re.compile(r"^(?P<indent>[ \t]*)(?:!|%(?:pip|conda|mamba|sx|system)\b)(?P<command>.*)$")
# A shell command whose output is assigned: files = !ls (IPython gives a list of lines).
_SHELL_ASSIGNMENT = re.compile(r"^(?P<target>[ \t]*[A-Za-z_][\w, ]*=)\s*(?:!|%(?:sx|system)\b)(?P<command>.*)$")
# A cell that IPython runs as a shell script.
_SHELL_CELL = re.compile(r"^\s*%%(?:bash|sh|script|system)\b")

_LOADERS = ("the course's loaders (e.g. mlgrader.data.fashion_mnist_tensors()) or a file the assignment ships "
            "beside the notebook")
_DATA_HINT = f"instead, load the data with {_LOADERS}"


@dataclass(frozen=True)
class Dependence:
    """One kind of thing the notebook expects of its machine, and what to do instead."""

    kind: str
    pattern: re.Pattern
    note: str  # "{found}" is replaced by the first example found


_DEPENDENCES = (
    Dependence("colab", re.compile(r"\bgoogle\.colab\b|\bdrive\.mount\s*\(|\bfiles\.(?:upload|download)\s*\("),
               "the notebook uses Google Colab (`{found}`), which the grader is not: Drive and uploads are not "
               "there; " + _DATA_HINT),
    Dependence("download", re.compile(r"\b(?:urlretrieve|urlopen|requests\.(?:get|post)|wget\.download|gdown\.\w+|"
                                      r"hf_hub_download|load_dataset)\s*\(|download\s*=\s*True|\bkaggle\b"),
               "the notebook downloads data or files (`{found}`), and the grader has no network; " + _DATA_HINT),
    Dependence("url", re.compile(r"['\"](?:https?|ftp)://[^'\"\s]+['\"]"),
               "the notebook reads from the internet (`{found}`), and the grader has no network; " + _DATA_HINT),
    Dependence("path", re.compile(r"['\"](?:/content|/kaggle|/mnt/(?:drive|c|d)|/Users/|/home/|[A-Za-z]:\\\\)"
                                  r"[^'\"]*['\"]"),
               "the notebook reads an absolute path of another machine (`{found}`); on the grader the notebook runs "
               "in a folder of its own: use paths relative to the notebook, or " + _LOADERS),
)


@dataclass(frozen=True)
class ShellFree:
    """A cell's source with its shell escapes replaced, and the commands that were taken out."""

    source: str
    commands: tuple[str, ...]


def without_shell_escapes(source: str) -> ShellFree:
    """``source`` with every shell escape (``!cmd``, ``%pip``, a ``%%bash`` cell) replaced by ``pass``.

    ``pass`` keeps the indentation valid when the escape sits in a block (``if ...: !pip``).
    """
    if _SHELL_CELL.match(source):
        first = source.strip().splitlines()[0]
        return ShellFree("pass  # a shell cell: not run at grading time", (first,))
    lines, commands = [], []
    for line in source.splitlines():
        assigned = _SHELL_ASSIGNMENT.match(line)
        if assigned is not None:  # the name still exists afterwards, holding no lines
            commands.append(line.strip())
            lines.append(f"{assigned['target']} []  # shell command: not run at grading time")
            continue
        match = _SHELL_LINE.match(line)
        if match is None:
            lines.append(line)
            continue
        commands.append(line.strip())
        lines.append(f"{match['indent']}pass  # shell command: not run at grading time")
    if not commands:
        return ShellFree(source, ())
    return ShellFree("\n".join(lines), tuple(commands))


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _example(found: str) -> str:
    """What the pattern matched, as a reader would write it: ``urlretrieve(`` -> ``urlretrieve()``."""
    found = _short(found).rstrip()
    return found[:-1].rstrip() + "()" if found.endswith("(") else found


def shell_note(commands: list[str]) -> str:
    """The summary line for the shell commands that were not run."""
    shown = ", ".join(f"`{_short(c, 40)}`" for c in commands[:3]) + (f" and {len(commands) - 3} more" if len(commands) > 3 else "")
    return (f"shell commands were not run at grading time ({shown}): the grader has the course's packages "
            "installed and no network, so remove pip installs and downloads; the course's environment "
            "(requirements.txt) already has what the assignment needs")


def environment_notes(sources: list[str]) -> list[str]:
    """One note per kind of machine dependence found in the notebook's code cells, in a fixed order."""
    text = "\n".join(sources)
    notes, kinds = [], set()
    for dependence in _DEPENDENCES:
        match = dependence.pattern.search(text)
        if dependence.kind == "url" and "download" in kinds:
            continue  # the download's note already says there is no network
        if match is not None:
            kinds.add(dependence.kind)
            notes.append(dependence.note.format(found=_example(match.group(0))))
    return notes
