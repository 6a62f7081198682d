"""Authoring: an instructor's solution sources become notebooks, bundles and targets.

- :mod:`~mlgrader.authoring.solution`: the solution source format (jupytext percent) read
  into cells, regions, tests and points;
- :mod:`~mlgrader.authoring.build`: the pipeline, whose steps are
  :mod:`~mlgrader.authoring.notebooks` (nbgrader source notebooks),
  :mod:`~mlgrader.authoring.release` (student notebooks through nbgrader),
  :mod:`~mlgrader.authoring.autograder` (bundles) and :mod:`~mlgrader.authoring.targets`
  (where students submit);
- :mod:`~mlgrader.authoring.importing`: an nbgrader or otter course becomes solution sources
  (``mlgrader import``);
- :mod:`~mlgrader.authoring.errors`: what goes wrong, said with file and cell.
"""
