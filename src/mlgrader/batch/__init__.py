"""Grading a class: many submissions, in parallel or on a Dask cluster.

- :mod:`~mlgrader.batch.layouts`: finding submissions and naming their students;
- :mod:`~mlgrader.batch.tasks`: one picklable grading task, the same locally and on Dask;
- :mod:`~mlgrader.batch.executors`: running tasks in fresh processes or on a cluster;
- :mod:`~mlgrader.batch.rows`: what each submission gets recorded as (never nothing);
- :mod:`~mlgrader.batch.cache`: the resume cache;
- :mod:`~mlgrader.batch.gradebook`: nbgrader's gradebook;
- :mod:`~mlgrader.batch.run`: the batch itself (:func:`run_batch`) and its output files.
"""

from .layouts import BatchUsageError
from .run import BatchOptions, run_batch

__all__ = ["BatchOptions", "BatchUsageError", "run_batch"]
