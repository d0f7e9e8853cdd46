"""Exercises and autograding for the course, built on nbgrader.

Submodules (none is imported by ``import gancourse``; importing them changes no global state):

- :mod:`gancourse.grading.checks`       assertions used by the exercises' test cells
- :mod:`gancourse.grading.assignments`  source notebooks, generating ``exercises/``, identifying
  and repairing submissions
- :mod:`gancourse.grading.batch`        ``grade``: a folder of submissions -> CSV + HTML feedback
- :mod:`gancourse.grading.worker`       one submission through nbgrader's autograde (a child process)
- :mod:`gancourse.grading.sandbox`      namespaces and the sandboxed kernel

Command line: ``python -m gancourse.grading generate | check | grade | probe`` (see ``--help``).
"""
