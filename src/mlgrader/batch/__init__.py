"""Grading a class: many submissions, in parallel or on a Dask cluster.

- :mod:`~mlgrader.batch.layouts`: finding submissions and naming their students;
  :mod:`~mlgrader.batch.archives`: zip files among them;
- :mod:`~mlgrader.batch.roster`: the class list, and whose each submission is;
- :mod:`~mlgrader.batch.course`: the course config (mlgrader.toml): deadlines, policies, extensions;
- :mod:`~mlgrader.batch.timestamps`: when each submission was handed in, and which record says so;
- :mod:`~mlgrader.batch.lateness`: each row's deadline, lateness and penalty;
- :mod:`~mlgrader.batch.tasks`: one picklable grading task, the same locally and on Dask;
- :mod:`~mlgrader.batch.executors`: running tasks in fresh processes or on a cluster;
- :mod:`~mlgrader.batch.rows`: what each submission gets recorded as (never nothing), grades.csv's columns;
- :mod:`~mlgrader.batch.cache`: the resume cache;
- :mod:`~mlgrader.batch.history`: every grade that was new or changed (history.jsonl);
- :mod:`~mlgrader.batch.gradebook`: nbgrader's gradebook;
- :mod:`~mlgrader.batch.outputs`: the files of a batch, and its summary;
- :mod:`~mlgrader.batch.exports`: the LMS files (``mlgrader export``);
- :mod:`~mlgrader.batch.run`: the batch itself (:func:`run_batch`).
"""

from .errors import BatchUsageError
from .run import BatchOptions, run_batch

__all__ = ["BatchOptions", "BatchUsageError", "run_batch"]
