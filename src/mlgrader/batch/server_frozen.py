"""Imported last by the batch's process server: what it imported is frozen for the collector.

Workers are forked from that server (:func:`mlgrader.batch.executors.run_in_workers`) and
share its pages copy-on-write: the grader, nbformat, torch. A full garbage collection in a
worker writes to every object it walks, copying each page it touches into that worker
(measured: 70 MB of torch's and the grader's objects, copied by one collection that a
worker's first imports set off). Frozen here, before the first fork, they are never walked.
"""

import gc

gc.freeze()
