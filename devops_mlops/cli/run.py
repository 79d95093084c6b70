"""`mlops run JOB_KEY... [--job KEY]...`: run deployed jobs now, one after another, and wait for each."""

from __future__ import annotations

import click

from . import pass_state


def _render(result):
    run = result.run
    if run is None:
        return
    yield f"run {result.run_id} of {result.key}: {run.result_state or run.state}" + (
        f"  {run.run_page_url}" if run.run_page_url else "")
    for t in run.tasks:
        yield f"  {t.task_key:20} {t.result_state or t.state}"
    for t in result.failed_tasks:
        if t.result_state == "UPSTREAM_FAILED":
            continue
        yield f"task {t.task_key} failed: {t.error or t.result_state}"
        if t.error_trace:
            for line in t.error_trace.rstrip().splitlines()[-30:]:
                yield f"    {line}"
        if t.notebook_output:
            yield f"  output: {t.notebook_output}"


@click.command("run")
@click.argument("job_keys", nargs=-1, metavar="[JOB_KEY]...")
@click.option("--job", "more_keys", multiple=True, metavar="KEY", help="A job to run (repeatable; same as JOB_KEY).")
@click.option("--param", "params", multiple=True, metavar="K=V", help="A job parameter (repeatable).")
@click.option("--no-wait", is_flag=True, help="Start the run(s) and return.")
@click.option("--timeout", type=click.FloatRange(min=0), metavar="S", help="Cancel a run after S seconds.")
@pass_state
def command(state, job_keys, more_keys, params, no_wait, timeout):
    """Run jobs now, one after another, and wait for each (several keys: every one runs, exit 1 if any failed)."""
    from ..errors import CheckFailed, UsageError
    from ..ops.run import check, parse_params, resolve_jobs, run_job

    keys = list(dict.fromkeys(job_keys + more_keys))
    if not keys:
        raise UsageError("give the job to run: `mlops run JOB_KEY` or `--job KEY` (keys come from the jobs folder)")
    values = parse_params(params)
    ctx = state.context()
    ids = resolve_jobs(ctx, keys)  # every key checked before anything runs
    results = [run_job(ctx, k, params=values, wait=not no_wait, timeout=timeout, job_id=ids[k]) for k in keys]
    if ctx.dry_run:
        return
    if len(results) == 1:
        ctx.console.result(results[0].to_json(), lambda: _render(results[0]))
        check(results[0])
        return
    ctx.console.result({"runs": [r.to_json() for r in results]}, lambda: (line for r in results for line in _render(r)))
    failed = []
    for r in results:
        try:
            check(r)
        except CheckFailed as exc:
            failed.append(exc.message)
    if failed:
        raise CheckFailed(f"{len(failed)} of {len(results)} run(s) failed; first: {failed[0]}")
