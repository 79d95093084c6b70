"""Pure generation: job definitions + monitoring config -> Data Factory resources (plain JSON dicts).

The resources (:mod:`.resources`) are the Databricks linked service (:mod:`.linked_service`), a
pipeline per job (:mod:`.job_pipelines`), and the monitoring and retrain pipelines with their
schedule trigger (:mod:`.monitoring`, :mod:`.retrain_pipeline`), made of the activities of
:mod:`.activities`.

Contract with the notebooks (docs/adf.md): every monitoring notebook receives ``target``
(the exported target's name), ``model_name``, ``metrics``, ``windows_evaluate`` and
``windows_violations``. The check notebook exits (``dbutils.notebook.exit``) with a
value containing ``violation`` exactly when the metrics are out of range; the retrain
notebook's exit value (the candidate: a model URI, or a JSON document carrying one) is
passed on as the ``candidate`` widget; the re-check (the check notebook with
``mode=recheck``) exits without ``violation`` when the candidate is good enough.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import Config, Target
from ..errors import InputError
from .job_pipelines import add_job_pipeline
from .linked_service import linked_service
from .monitoring import add_monitoring
from .resources import Export

if TYPE_CHECKING:
    from ..core.jobdefs import JobDefinition


def build_export(config: Config, target: Target, jobs: dict[str, JobDefinition] | None = None, *,
                 monitoring: bool = True, tracked: frozenset[str] | None = None) -> Export:
    """Everything for ``target``. ``jobs``: from ``load_job_definitions`` (loaded when None); ``tracked``:
    the files a Git folder target holds (:func:`devops_mlops.files.jobs.committed_files`; None: not checked)."""
    if jobs is None:
        from ..files.jobs import load_job_definitions

        jobs = load_job_definitions(config, target, tracked=tracked)
    exp = Export()
    linked = linked_service(config, target, exp)
    for job in jobs.values():
        add_job_pipeline(config, target, job, exp, linked)
    if monitoring:
        add_monitoring(config, target, jobs, exp, linked, tracked=tracked)
    if not exp.resources["pipeline"]:
        raise InputError(f"nothing to export: no job definitions in {config.jobs!r} and monitoring is off")
    return exp
