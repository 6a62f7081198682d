"""Checks that exercise tests use: tolerant comparisons, loss curves, accuracy, seeding.

Every check raises :class:`CheckFailure` (an ``AssertionError``) with a message written
for the student: what was expected, what was found, and the likely mistake.

The same code runs in two places:

* in the trusted grader process, where the values a test reads from the notebook are
  plain copies (python scalars, lists, numpy arrays, CPU torch tensors) or remote
  proxies for everything else (functions, models), and
* in the student's own notebook, where tensors may live on CUDA or MPS.

So nothing here knows about processes or kernels, and nothing relies on ``isinstance``
of notebook objects beyond numbers, arrays and tensors. ``torch`` is never imported
just to look at a value: a tensor can only exist once torch has been imported, so
``sys.modules`` tells us whether a value can be one. Only :func:`seed_everything`
imports torch itself.

Mistakes by the *test author* (a bad ``threshold``, an ``expected`` value that is not
numeric) raise ``ValueError``/``TypeError`` instead, so they are never blamed on the
student.

Every check takes ``name=``: what its message calls the value (``"w"``,
``"softmax(z) row sums"``), so that the student knows which of their values is wrong, and
``hint=``: what to try, added after what the check itself can tell. A test stops at its
first failing check, and that check's message is the test's feedback.

The package's modules: ``compare`` (values, shapes, types), ``losses`` (loss curves),
``classification`` (accuracy, probabilities), ``diagnose`` (what wrong numbers say about
the mistake), ``text`` (how numbers and arrays are written in messages).
"""

from ..seeding import seed_everything
from .classification import accuracy, check_accuracy, check_probabilities
from .compare import (
    PROXY_TYPE_NAMES_ATTRIBUTE,
    CheckFailure,
    check_close,
    check_equal,
    check_finite,
    check_shape,
    check_type,
    to_numpy,
)
from .losses import check_loss_curve

__all__ = (
    "CheckFailure",
    "accuracy",
    "check_accuracy",
    "check_close",
    "check_equal",
    "check_finite",
    "check_loss_curve",
    "check_probabilities",
    "check_shape",
    "check_type",
    "seed_everything",
    "to_numpy",
)
