"""The grading sandbox: a real Jupyter kernel under limits, which knows nothing of tests.

Import what you need from the modules: :mod:`~mlgrader.sandbox.kernel` (``SandboxKernel``,
``CellRun``), :mod:`~mlgrader.sandbox.limits` (``Limits``, ``SandboxError``) and
:mod:`~mlgrader.sandbox.modes` (``choose_mode``, ``bubblewrap_works``). This file imports
nothing on purpose: the limiter (``python -m mlgrader.sandbox.limiter``) and the output
relay start as small processes of their own and must not pay for jupyter_client.
"""
