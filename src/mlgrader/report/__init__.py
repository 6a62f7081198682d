"""Reports for people: one student's feedback page and the class report, as plain HTML.

Both are single self-contained files (inline CSS, plots as inline SVG images, no
JavaScript, no CDN), so they open from a zip, an LMS upload or an email attachment
without Jupyter or a network. The plots are written directly, without a plotting library.

- :mod:`~mlgrader.report.feedback`: a student's page;
- :mod:`~mlgrader.report.class_report`: the instructor's page;
- :mod:`~mlgrader.report.gradebook_sections`: its lateness, roster and grade-change sections;
- :mod:`~mlgrader.report.plots` and :mod:`~mlgrader.report.page`: what both are made of.
"""

from .class_report import ReportRow, class_report_html, write_class_report
from .gradebook_sections import ChangeLine, ClassNotes, LateLine, MissingLine, TamperLine, UnmatchedLine
from .feedback import feedback_html, write_feedback

__all__ = ["ChangeLine", "ClassNotes", "LateLine", "MissingLine", "TamperLine", "UnmatchedLine", "ReportRow", "write_feedback", "feedback_html", "write_class_report", "class_report_html"]
