"""mlgrader: autograded exercises and tamper-proof grading for ML courses."""

__version__ = "0.1.0"
