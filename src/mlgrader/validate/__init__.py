"""Prove each assignment's tests: solution full marks, stub zero, known mistakes lose points.

For every notebook of an assignment, :func:`validate` grades (through the real grading
path, sandbox included):

- the nbgrader source notebook, i.e. the solution: it must score full marks;
- the student release, i.e. the stub: every graded test must score zero;
- each known-wrong variant from ``solutions/<assignment>/variants.toml``
  (:mod:`~mlgrader.validate.variants`): each listed test must lose points and the feedback
  of one of them must contain the variant's ``message`` (:mod:`~mlgrader.validate.judge`).

It refuses a build older than the solution sources (:class:`StaleBuildError`).
:mod:`~mlgrader.validate.report` lays the cases out for the command line.
"""

from .run import CaseResult, StaleBuildError, ValidationReport, validate
from .variants import Variant, VariantError, apply_variant, load_variants

__all__ = ["CaseResult", "StaleBuildError", "ValidationReport", "Variant", "VariantError", "apply_variant",
           "load_variants", "validate"]
