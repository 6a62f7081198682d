"""Grading one attack of the corpus with ``mlgrader grade``, and watching what it did.

Shared by ``tests/test_adversarial.py`` (which asserts on each :class:`CaseRun`) and
``benchmarks/attacks/run.py`` (which tabulates them next to nbgrader and otter), so that
both grade the very same way: a decoy course folder as the grader's working directory, the
placeholders of :class:`corpus.Context` filled in, an honest follow-up grade where the
attack tries to outlast its own, and the attack's leftover processes found and killed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from . import corpus


class Listener:
    """A TCP server on the host's loopback that records everything sent to it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conn.settimeout(2)
            try:
                self.received += b"<connection>" + conn.recv(4096)
            except OSError:
                self.received += b"<connection>"
            finally:
                conn.close()

    def reached_by(self, ctx: corpus.Context) -> bool:
        """Whether the submission of ``ctx`` sent its token here."""
        return ctx.token.encode() in self.received

    def close(self):
        self._stop = True
        self._thread.join(timeout=2)
        self.sock.close()


def new_context(*, root: Path, course: Path, marker: Path, port: int, autograder_root: Path | None = None,
                open_root: Path | None = None, token: str | None = None) -> corpus.Context:
    """A Context with a fresh token (unless given), so that each run's traces are its own."""
    return corpus.Context(root=root, course=course, marker=marker, token=token or f"advtoken-{uuid.uuid4().hex}",
                          port=port, autograder_root=autograder_root, open_root=open_root)


def make_bundles(root: Path) -> dict[str, Path]:
    """Bundle variant -> its autograder folder, for every variant the corpus uses."""
    return {variant: corpus.make_bundle(root / "bundles", variant) for variant in corpus.BUNDLE_VARIANTS}


def kill_processes_with(text: str) -> list[int]:
    """Kill every process whose command line holds ``text``; return their pids."""
    pids = corpus.processes_with(text)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return pids


def hidden_lines_in(text: str) -> list[str]:
    """The lines of hidden test code (and the canary) that appear in ``text``."""
    return [line for line in (*corpus.HIDDEN_LINES, corpus.CANARY) if line in text]


@dataclass
class CaseRun:
    attack: corpus.Attack
    mode: str
    ctx: corpus.Context
    outcome: corpus.Outcome
    course_before: dict
    course_after: dict
    orphans: list
    autograder_existed: bool
    followup: corpus.Outcome | None = None  # the honest base graded next by the same grader installation
    planted: list = ()  # files named after the run's token found (and removed) in the grader's Python


def grade_case(attack: corpus.Attack, mode: str, case_dir: Path, bundles: dict[str, Path], port: int,
               zygote: corpus.Zygote) -> CaseRun:
    """Grade ``attack`` in sandbox ``mode`` under ``case_dir``; never raises for the grade."""
    token = f"advtoken-{uuid.uuid4().hex}"
    open_root = corpus.make_open_root(token)  # a world-readable "home" with planted secrets
    try:
        return _grade_case(attack, mode, case_dir, bundles, port, zygote, token, open_root)
    finally:
        shutil.rmtree(open_root, ignore_errors=True)


def _grade_case(attack, mode, case_dir, bundles, port, zygote, token, open_root) -> CaseRun:
    course = corpus.make_course(case_dir / "course")
    ctx = new_context(root=case_dir.parent, course=course, marker=case_dir / "MARKER", port=port,
                      autograder_root=bundles[attack.bundle], open_root=open_root, token=token)
    notebook = course / "submitted" / "alice" / f"{corpus.NOTEBOOK}.ipynb"
    notebook.parent.mkdir(parents=True)
    notebook.write_bytes(corpus.build(attack, ctx))
    before = corpus.snapshot(course)
    autograder_existed = Path("/autograder").exists()
    pythonpath = None
    if attack.grader_copy == "open":  # a copy of the grader other users may write
        pythonpath = corpus.copy_grader_source(open_root, open_to_all=True)
    elif attack.grader_copy:
        pythonpath = corpus.copy_grader_source(case_dir)
    try:
        outcome = corpus.grade(notebook, mode=mode, autograder_root=bundles[attack.bundle], cwd=course,
                               assignment=corpus.ASSIGNMENT if attack.assignment_flag else None,
                               runner=attack.runner, pythonpath=pythonpath, zygote=zygote)
    except Exception as exc:  # a hung grader is a result too
        outcome = corpus.Outcome(-1, "", f"grading failed: {exc!r}", 0.0)
    followup = None
    if attack.followup_base:
        honest = case_dir / "followup" / f"{corpus.NOTEBOOK}.ipynb"
        honest.parent.mkdir()
        honest.write_text(json.dumps(corpus.BASES[attack.followup_base]()))
        followup = corpus.grade(honest, mode=mode, autograder_root=bundles[attack.bundle], cwd=honest.parent,
                                runner=attack.runner, pythonpath=pythonpath, zygote=zygote)
    time.sleep(0.2)
    orphans = kill_processes_with(ctx.token)  # and clean up what the attack left behind
    planted = corpus.planted(ctx.token, [pythonpath] if pythonpath else [])
    return CaseRun(attack, mode, ctx, outcome, before, corpus.snapshot(course), orphans, autograder_existed, followup,
                   planted)
