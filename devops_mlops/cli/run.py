"""`mlops run JOB_KEY`: run a deployed job now and wait for it."""

from __future__ import annotations

import click

from . import pass_state


@click.command("run")
@click.argument("job_key")
@click.option("--param", "params", multiple=True, metavar="K=V", help="A job parameter (repeatable).")
@click.option("--no-wait", is_flag=True, help="Start the run and return.")
@click.option("--timeout", type=click.FloatRange(min=0), metavar="S", help="Cancel the run after S seconds.")
@pass_state
def command(state, job_key, params, no_wait, timeout):
    """Run a job now and wait for it."""
    from ..ops.run import check, parse_params, run_job

    ctx = state.context()
    result = run_job(ctx, job_key, params=parse_params(params), wait=not no_wait, timeout=timeout)

    def render():
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

    if not ctx.dry_run:
        ctx.console.result(result.to_json(), render)
    check(result)
