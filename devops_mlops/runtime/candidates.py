"""A retrain candidate, for the notebooks of the Data Factory retrain pipeline.

Each candidate notebook (re-check, register, promote, commit, score) calls one of
these with its session and the retrain notebook's exit value (``candidate``)::

    from devops_mlops.runtime import api, candidates

    s = api.session(dbutils.widgets.get("target"))
    c = candidates.parse_candidate(text)                 # {"candidate": "runs:/.../model", "eval_batch": ...}
    candidates.register_candidate(s, text, attempt=2)    # a new version (once) through the gate
    s.promote(candidates.candidate_version(s, text), batch=c.get("eval_batch"))
    candidates.commit_candidate(s, text)                 # the retrain notebook + its provenance record
    candidates.rescore_waiting(s, version, after=c.get("eval_batch"))

They are the use cases of :mod:`devops_mlops.ops.candidates`, named here for notebooks.
"""

from __future__ import annotations

from ..ops.candidates import (
    candidate_version,
    commit_candidate,
    data_window,
    find_candidate,
    parse_candidate,
    production_metrics,
    register_candidate,
    rescore_waiting,
)

__all__ = [
    "candidate_version",
    "commit_candidate",
    "data_window",
    "find_candidate",
    "parse_candidate",
    "production_metrics",
    "register_candidate",
    "rescore_waiting",
]
