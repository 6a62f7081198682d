"""Prove each assignment's tests: solution full marks, stub zero, known mistakes lose points.

For every notebook of an assignment, :func:`validate` grades (through the real grading
path, sandbox included):

- the nbgrader source notebook, i.e. the solution: it must score full marks;
- the student release, i.e. the stub: every graded test must score zero;
- each known-wrong variant from ``solutions/<assignment>/variants.toml``
  (:mod:`~mlgrader.validate.variants`): each listed test must lose points and the feedback
  of one of them must contain the variant's ``message`` (:mod:`~mlgrader.validate.judge`).
"""

from .run import CaseResult, ValidationReport, validate
from .variants import Variant, VariantError, apply_variant, load_variants

__all__ = ["CaseResult", "ValidationReport", "Variant", "VariantError", "apply_variant", "load_variants", "validate"]
