"""``${resources.jobs.<key>.id}``: one job of the files naming another (``run_job_task.job_id``).

The id exists only once the named job is deployed. While the files are read the reference is
kept as written (:data:`JOB_REF`); ``mlops deploy`` fills in the ids of jobs that already exist
before planning, shows the others as written in the plan (known after the create), creates the
named jobs first and fills in their ids before creating or updating the jobs that name them.
A whole-string reference becomes the number the Jobs API expects.
"""

from __future__ import annotations

import re
from typing import Any

JOB_REF = re.compile(r"\$\{resources\.jobs\.([A-Za-z0-9_\-]+)\.id\}")


def ref(key: str) -> str:
    return f"${{resources.jobs.{key}.id}}"


def refs_in(value: Any) -> set[str]:
    """The job keys ``value`` names through ``${resources.jobs.<key>.id}``."""
    if isinstance(value, dict):
        return set().union(*(refs_in(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(refs_in(v) for v in value)) if value else set()
    if isinstance(value, str) and "${resources.jobs." in value:
        return set(JOB_REF.findall(value))
    return set()


def resolve(value: Any, ids: dict[str, int]) -> Any:
    """``value`` with the references to the jobs of ``ids`` (key -> job id) filled in; others kept."""
    if isinstance(value, dict):
        return {k: resolve(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, ids) for v in value]
    if not isinstance(value, str) or "${resources.jobs." not in value:
        return value
    whole = JOB_REF.fullmatch(value)
    if whole:
        return ids.get(whole.group(1), value)
    return JOB_REF.sub(lambda m: str(ids[m.group(1)]) if m.group(1) in ids else m.group(0), value)


def order(refs: dict[str, set[str]]) -> list[list[str]]:
    """Keys in waves: each wave names only keys of earlier waves (or none). Raises ValueError
    naming a cycle."""
    left = {k: set(v) & set(refs) for k, v in refs.items()}
    waves: list[list[str]] = []
    done: set[str] = set()
    while left:
        ready = [k for k, deps in left.items() if deps <= done]
        if not ready:
            raise ValueError(" -> ".join(sorted(left)))
        waves.append(ready)
        done.update(ready)
        for k in ready:
            del left[k]
    return waves
