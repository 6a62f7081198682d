"""One frozen grading configuration, and the defaults every part of the toolkit shares.

A default lives here and nowhere else: the authoring step writes the notebook defaults
into each bundle, the sandbox takes its memory cap from them, grading its time limits, the
report its message length. The environment is read in one place,
:meth:`GradingConfig.from_env`, called by the command line; everything below it receives
the configuration as an argument (so a batch task or a Dask worker grades exactly as the
machine that made the task said).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from typing import Mapping

# Per notebook (a solution header may override them; the bundle records the result).
DEFAULT_NOTEBOOK_TIMEOUT_S = 900.0
DEFAULT_MEMORY_MB = 6144
# Per cell or test without a ``timeout=`` option of its own.
DEFAULT_CELL_TIMEOUT_S = 60.0
# Characters of one message kept for feedback (a test's output, an exception's text).
FEEDBACK_CHARS = 20_000
# A grading process gets its notebook's time limit plus this much for kernel start,
# imports and the tests themselves; past that it is stuck in the grader and is stopped.
PROCESS_MARGIN_S = 300.0

SANDBOX_CHOICES = ("auto", "bubblewrap", "subprocess")


class ConfigError(ValueError):
    """A setting (option or environment variable) that cannot be used."""


@dataclass(frozen=True)
class GradingConfig:
    """How grades are produced on this machine: passed down from the command line.

    ``sandbox`` is ``auto`` (bubblewrap where it works, else the fallback), ``bubblewrap``
    or ``subprocess``. ``threads`` is the numpy/torch thread count per kernel (None: the
    libraries' own default); batch graders set cores // workers so that parallel kernels
    do not stall each other.
    """

    sandbox: str = "auto"
    threads: int | None = None
    cell_timeout: float = DEFAULT_CELL_TIMEOUT_S
    feedback_chars: int = FEEDBACK_CHARS
    process_margin: float = PROCESS_MARGIN_S

    def __post_init__(self):
        if self.sandbox not in SANDBOX_CHOICES:
            raise ConfigError(f"unknown sandbox mode {self.sandbox!r} (choose {', '.join(SANDBOX_CHOICES)})")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"threads must be at least 1 (got {self.threads})")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **options) -> "GradingConfig":
        """Defaults, then the environment (``MLGRADER_SANDBOX``), then ``options`` that are not None."""
        environ = os.environ if environ is None else environ
        settings = {}
        if environ.get("MLGRADER_SANDBOX"):
            settings["sandbox"] = environ["MLGRADER_SANDBOX"]
        return cls(**settings).with_options(**options)

    def with_options(self, **options) -> "GradingConfig":
        """A copy with the given options changed; None means "keep"."""
        known = {f.name for f in fields(self)}
        unknown = set(options) - known
        if unknown:
            raise TypeError(f"unknown grading options: {', '.join(sorted(unknown))}")
        return replace(self, **{k: v for k, v in options.items() if v is not None})
