"""mlops test [PATH...] [--param KEY=VALUE ...] [--junit FILE] [--jobs N] [--timeout SECONDS] [--fresh-kernels]"""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import CheckFailed, InputError
from . import State, pass_state


@click.command("test")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Widget value (repeatable).")
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), help="Write JUnit XML here.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Notebooks run at once (default: CPU count).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), help="Seconds per notebook (default: test.timeout).")
@click.option("--fresh-kernels", is_flag=True,
              help="A new kernel for every notebook (default: a kernel that ran a passing notebook runs the next).")
@pass_state
def command(state: State, paths, params, junit, jobs, timeout, fresh_kernels) -> None:
    """Run notebooks as tests (default: test_* / *_test notebooks under the notebooks folder)."""
    from ..ops.test import junit_suites, parse_params, run_tests

    values = parse_params(params)
    ctx = state.context()
    console = ctx.console
    report = run_tests(ctx, list(paths), params=values, jobs=jobs, timeout=timeout, reuse=not fresh_kernels,
                       on_result=lambda r: console.progress(f"{r.status.upper():7} {r.path} ({r.duration:.1f}s)")
                       if console.verbose else None)
    if junit:
        from ..files.junit import write_junit

        write_junit(junit, junit_suites(report), name="mlops test")
    report_issues(console, report)
    console.result(report.to_json(), lambda: render_lines(report))
    from ..ops import pr_feedback

    if pr_feedback.wanted():
        pr_feedback.report(console, "test", report.to_json(), config=ctx.config)
    if report.unreadable:
        first = report.unreadable[0]
        raise InputError(f"{len(report.unreadable)} notebook(s) could not be read: {first.error}",
                         path=first.path, line=first.line)
    if not report.ok:
        bad = [r for r in report.results if not r.passed]
        raise CheckFailed(f"{len(bad)} of {len(report.results)} notebook(s) failed", reported=True)


def report_issues(console, report) -> None:
    """Inside Azure Pipelines: one ##vso[task.logissue] per failure, at the original file line."""
    for r in report.results:
        if r.status == "error":
            console.logissue("error", f"cannot read notebook: {r.error}", path=r.path, line=r.line)
        elif not r.passed and not r.failed_in_tests:
            console.logissue("error", f"{r.status}: {r.error}", path=r.error_path or r.path, line=r.line)
        for t in r.tests:
            if t.status != "passed":
                console.logissue("error", f"{t.name} failed: {t.error}", path=t.path or r.path, line=t.line)


def render_lines(report):
    for r in report.results:
        yield f"{r.status.upper():7} {r.path} ({r.duration:.1f}s)" + (
            f" exit: {r.exit_value}" if r.exit_value else "")
        if r.status == "error":
            yield f"  cannot read: {r.error}"
        elif not r.passed and not r.failed_in_tests:
            where = (r.error_path or r.path) + (f":{r.line}" if r.line else "") + (f" (cell {r.cell})" if r.cell else "")
            yield f"  {where}: {r.error}"
            for line in (r.traceback or "").splitlines():
                yield f"    {line}"
        for t in r.tests:
            yield f"  {t.status.upper():7} {t.name} ({t.duration:.2f}s)"
            if t.status != "passed":
                yield f"    {t.error}"
                for line in (t.traceback or "").splitlines():
                    yield f"      {line}"
        for s in r.skipped_cells:
            yield f"  skipped cell {s['cell']} (%{s['language']}" + (f", line {s['line']}" if s.get("line") else "") + \
                (f", in {s['path']}" if s["path"] != r.path else "") + "): not run locally"
    counts = ", ".join(f"{report.count(s)} {s}" for s in ("passed", "failed", "timeout", "error") if report.count(s))
    yield f"{len(report.results)} notebook(s): {counts or 'none found'} in {report.duration:.1f}s"
