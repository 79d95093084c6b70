"""Commit notebooks back to the repository: the retrain loop's auto-commit, and `mlops commit`.

Python API (what the lifecycle's retrain loop calls)::

    from devops_mlops.ops.commit import commit_notebooks

    result = commit_notebooks(
        ctx,                                   # devops_mlops.context.Context
        ["notebooks/retrain.py"],              # relative to ctx.root (the folder of mlops.yaml), or absolute
        message=None,                          # default: "Retrain <model> v<N>: update retrain.py"
        branch=None,                           # default: scm.branch
        pull_request=False,                    # True: always through automation/retrain-<model>-v<N> + a PR
        automation=False,                      # True: the retrain loop's auto-commit (see "Pushing" below)
        provenance={                           # optional; written next to the first notebook as
            "model": "churn", "version": 7,    #   <stem>.provenance.json (or provenance_path=...)
            "metrics": {"rmse": 0.41},         #   {name: value} or {name: {"candidate": .., "production": ..}}
            "data_window": {"start": "2024-05-01", "end": "2024-05-31"},
            "work_item": 42,                   # the alert's work item, linked to the pull request
            # "trained_from": sha (default BUILD_SOURCEVERSION, else HEAD skipping our own commits)
            # "pipeline_run" defaults to BUILD_BUILDID / BUILD_BUILDNUMBER / BUILD_DEFINITIONNAME
        },
        from_workspace=False,                  # True: export each notebook from ctx.workspace first
    )
    result.commit        # the new commit sha, or None
    result.no_changes    # True: nothing differed from HEAD (nothing committed, nothing pushed)
    result.branch        # the branch pushed to (scm.branch or the automation branch), None when not pushed
    result.pull_request  # devops_mlops.ports.git.PullRequest (id, url, created) or None
    result.committed_on  # the local branch of a commit that was not pushed, else None
    result.summary()     # "committed 1a2b3c on mlops/retrain-churn-v7, not pushed (target local has backend: local)"
    result.as_dict()     # the JSON document `mlops commit --format json` prints

Behaviour: only the given paths (and the provenance record) enter the commit; the
working tree and the other index entries stay as they were. The commit is made by
``scm.bot`` and its message carries ``scm.skip_marker``. It is pushed as
``HEAD:refs/heads/<branch>`` (fine on a detached HEAD in a shallow clone) with the
token in an ``http.extraheader`` passed through the environment. A protected branch
(``scm.protected`` or a TF402455 rejection) goes to ``automation/retrain-<model>-v<N>``
and a pull request (opened or updated) with a metrics table. A remote that moved:
fetch, re-apply the commit on the new tip, push again once; otherwise CheckFailed
(exit 1) with the commands to finish by hand, the local commit kept. No remote:
commit only. ``ctx.dry_run``: nothing written, the plan in the result.

Pushing (:mod:`devops_mlops.core.push_policy`): ``ctx.push`` (--push / --no-push), else
``targets.<name>.scm.push``, else ``scm.push``, else `mlops commit` pushes and the retrain
loop's auto-commit (``automation=True``) pushes on databricks targets only. Not pushed: an
explicit commit stays on the checked-out branch; the auto-commit goes on the local branch
``mlops/retrain-<model>-v<N>`` without touching HEAD, the index or the working tree
(ops/commit_local.py). The names, the message and the provenance record are made in
ops/commit_text.py; the push and the pull request in ops/commit_push.py.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..core import notebook as nbmod
from ..core.push_policy import PushDecision, decide
from ..errors import UsageError
from ..files import notebooks as nbfiles
from .commit_local import commit_on_local_branch, not_pushed
from .commit_push import organization_known, publish
from .commit_text import CommitResult, default_message, provenance_record, with_marker

NOTEBOOK_SUFFIXES = (".py", ".sql", ".scala", ".r", ".ipynb")


def push_decision(ctx, *, explicit: bool, pull_request: bool = False) -> PushDecision:
    """Whether to push (core.push_policy); ``--pull-request`` is a request to push."""
    decision = decide(ctx.config, ctx.target, getattr(ctx, "push", None), explicit=explicit)
    if pull_request and not decision.push:
        if decision.reason == "--no-push":
            raise UsageError("--pull-request pushes a branch: it cannot go with --no-push")
        return PushDecision(True, "--pull-request")
    return decision


# ---------------------------------------------------------------- content


def _workspace_path(ctx, path: Path, git_root: Path) -> str:
    """Where `mlops sync` put ``path``: Git folder mode mirrors the repository; workspace mode
    maps the notebooks folder to ``workspace_dir`` (``/`` on a local target), notebooks without extension."""
    from ..core.sync_plan import join
    from ..errors import InputError

    target = ctx.target
    stem = path.with_suffix("") if path.suffix.lower() in NOTEBOOK_SUFFIXES else path
    if target.backend == "databricks" and target.repo_path:
        return join(target.repo_path, stem.relative_to(git_root).as_posix())
    root = (target.workspace_dir or "/") if target.backend == "databricks" else "/"
    try:
        rel = stem.relative_to(ctx.config.notebooks_dir.resolve())
    except ValueError:
        raise InputError(f"not under the notebooks folder {ctx.config.notebooks!r}, so not in the workspace",
                         path=path) from None
    return join(root.rstrip("/") or "/", rel.as_posix())


def _content(ctx, path: Path, git_root: Path, from_workspace: bool, notes: list[str]) -> bytes:
    is_ipynb = path.suffix.lower() == ".ipynb"
    if from_workspace:
        ws = _workspace_path(ctx, path, git_root)
        data = ctx.workspace.export(ws, format="JUPYTER" if is_ipynb else "SOURCE")
        notes.append(f"exported {ws} from the workspace")
    else:
        data = nbfiles.read(path).raw
    if is_ipynb and not ctx.config.scm.keep_outputs:
        nb = nbmod.loads(data, path)
        if nbmod.strip_outputs(nb):
            notes.append(f"stripped outputs from {path.name} (scm.keep_outputs is false)")
            data = nbmod.dumps(nb)
    elif from_workspace and path.suffix.lower() in NOTEBOOK_SUFFIXES:
        nbmod.loads(data, path)  # refuses binary / non-UTF-8 content
    return data


def _expand(ctx, paths: list[str | Path], from_workspace: bool) -> list[Path]:
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        p = (p if p.is_absolute() else ctx.root / p).resolve()
        if p.is_dir():
            out.extend(f.resolve() for f in nbfiles.iter_notebook_files([p]))
        elif p.exists() or from_workspace:
            out.append(p)
        else:
            from ..errors import InputError

            raise InputError("no such file", path=raw)
    return list(dict.fromkeys(out))


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_bytes() == data:
        return
    tmp = path.with_name(f".{path.name}.mlops-tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


# ---------------------------------------------------------------- the use case


def commit_notebooks(
    ctx,
    paths: list[str | Path],
    *,
    message: str | None = None,
    branch: str | None = None,
    pull_request: bool = False,
    provenance: dict | None = None,
    provenance_path: str | Path | None = None,
    from_workspace: bool = False,
    work_items: list[int] | None = None,
    automation: bool = False,
) -> CommitResult:
    scm = ctx.config.scm
    if not paths:
        raise UsageError("give at least one notebook to commit")
    decision = push_decision(ctx, explicit=not automation, pull_request=pull_request)
    if pull_request and not organization_known(ctx):
        raise UsageError(
            "--pull-request needs an Azure DevOps organization",
            hint="set scm.azure_devops.organization_url in mlops.yaml, or run inside Azure Pipelines (SYSTEM_COLLECTIONURI)",
        )
    git = ctx.git
    files = _expand(ctx, paths, from_workspace)
    notes: list[str] = []
    contents = {git.relpath(f): _content(ctx, f, git.root, from_workspace, notes) for f in files}
    rels = list(contents)
    prov_rel = None
    if provenance is not None:
        first = files[0]
        prov_file = Path(provenance_path or provenance.get("path") or first.with_name(f"{first.stem}.provenance.json"))
        prov_file = (prov_file if prov_file.is_absolute() else ctx.root / prov_file).resolve()
        prov_rel = git.relpath(prov_file)
        trained_from = os.environ.get("BUILD_SOURCEVERSION") or git.source_commit(scm.skip_marker)
        contents[prov_rel] = provenance_record(ctx, provenance, rels, trained_from)
    all_rels = list(contents)
    text = with_marker(message or default_message(ctx, rels, provenance), scm.skip_marker)
    result = CommitResult(
        paths=all_rels,
        changed=git.changed(contents),
        target_branch=branch or scm.branch,
        remote=scm.remote if git.remote_url() else None,
        provenance=prov_rel,
        message=text,
        dry_run=ctx.dry_run,
        notes=notes,
    )
    result.no_changes = not result.changed
    if result.no_changes:
        return result
    result.push_decision = decision.reason
    if automation and not decision.push:
        return commit_on_local_branch(ctx, git, result, contents, provenance, decision)
    if not ctx.dry_run:
        for rel, data in contents.items():
            _write(git.root / rel, data)
        result.commit = git.commit_paths(all_rels, text)
        if result.commit is None:  # the files changed under us back to HEAD's content
            result.no_changes, result.changed = True, []
            return result
    if not decision.push:
        result.committed_on = git.branch() or "HEAD (detached)"
        result.notes.append(not_pushed(result.committed_on, decision, dry_run=ctx.dry_run))
        return result
    return publish(ctx, git, result, rels=all_rels, pull_request=pull_request, provenance=provenance,
                   work_items=work_items)
