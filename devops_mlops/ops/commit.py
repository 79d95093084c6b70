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
(ops/commit_local.py).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..core import notebook as nbmod
from ..core.push_policy import PushDecision, decide
from ..errors import CheckFailed, ConflictError, ServiceError, UsageError
from ..ports.git import PullRequest

NOTEBOOK_SUFFIXES = (".py", ".sql", ".scala", ".r", ".ipynb")


@dataclass
class CommitResult:
    paths: list[str]  # repository-relative paths considered (provenance record included)
    changed: list[str]  # those that differed from HEAD
    commit: str | None = None
    no_changes: bool = False
    target_branch: str = "main"
    branch: str | None = None  # where it was (or would be) pushed
    pushed: bool = False
    rebased: bool = False
    remote: str | None = None
    pull_request: PullRequest | None = None
    provenance: str | None = None
    message: str = ""
    dry_run: bool = False
    notes: list[str] = field(default_factory=list)
    committed_on: str | None = None  # the local branch of a commit that was not pushed
    push_decision: str = ""  # what decided whether to push (core.push_policy)

    def as_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["pull_request"] = asdict(self.pull_request) if self.pull_request else None
        return doc

    def summary(self) -> str:
        """One line: where the commit went ("committed on mlops/retrain-m-v3, not pushed (...)")."""
        if self.no_changes:
            return "no changes to commit"
        verb = "would commit" if self.dry_run else f"committed {self.commit[:12]}" if self.commit else "committed"
        if self.pushed:
            text = f"{verb}, pushed to {self.remote}/{self.branch}"
            if self.pull_request:
                text += f", pull request {self.pull_request.pull_request_id}"
            return text
        if self.dry_run and self.branch:
            return f"{verb}, push to {self.remote}/{self.branch}"
        where = f" on {self.committed_on}" if self.committed_on else ""
        return f"{verb}{where}, not pushed" + (f" ({self.push_decision})" if self.push_decision else "")


# ---------------------------------------------------------------- plain helpers


def push_decision(ctx, *, explicit: bool, pull_request: bool = False) -> PushDecision:
    """Whether to push (core.push_policy); ``--pull-request`` is a request to push."""
    decision = decide(ctx.config, ctx.target, getattr(ctx, "push", None), explicit=explicit)
    if pull_request and not decision.push:
        if decision.reason == "--no-push":
            raise UsageError("--pull-request pushes a branch: it cannot go with --no-push")
        return PushDecision(True, "--pull-request")
    return decision


def organization_known(ctx) -> bool:
    return bool(ctx.config.scm.azure_devops.organization_url or os.environ.get("SYSTEM_COLLECTIONURI"))


def model_of(ctx, provenance: dict | None) -> tuple[str, Any]:
    p = provenance or {}
    model = p.get("model")
    name = (model.get("name") if isinstance(model, dict) else model) or ctx.config.model.name
    version = (model.get("version") if isinstance(model, dict) else None) or p.get("version") or p.get("model_version")
    return str(name), version


def clean_ref_part(s: str) -> str:
    """``s`` as one part of a branch name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", s).strip("-.") or "model"


def automation_branch(model: str, version: Any, commit: str) -> str:
    clean = clean_ref_part
    suffix = f"v{clean(str(version))}" if version not in (None, "") else commit[:8]
    return f"automation/retrain-{clean(model)}-{suffix}"


def work_items_of(provenance: dict | None) -> list[int]:
    p = provenance or {}
    raw = p.get("work_items") or p.get("work_item") or p.get("work_item_id")
    items = raw if isinstance(raw, (list, tuple)) else [raw] if raw not in (None, "") else []
    return [int(i) for i in items]


def pipeline_run() -> dict[str, Any] | None:
    run = {
        "build_id": os.environ.get("BUILD_BUILDID"),
        "build_number": os.environ.get("BUILD_BUILDNUMBER"),
        "definition": os.environ.get("BUILD_DEFINITIONNAME"),
    }
    org, project = os.environ.get("SYSTEM_COLLECTIONURI"), os.environ.get("SYSTEM_TEAMPROJECT")
    if run["build_id"] and org and project:
        run["url"] = f"{org.rstrip('/')}/{project}/_build/results?buildId={run['build_id']}"
    run = {k: v for k, v in run.items() if v}
    return run or None


def provenance_record(ctx, provenance: dict, notebooks: list[str], trained_from: str | None) -> bytes:
    name, version = model_of(ctx, provenance)
    known = {"model", "version", "model_version", "metrics", "data_window", "pipeline_run", "trained_from", "path"}
    record: dict[str, Any] = {
        "model": {"name": name, "version": version},
        "metrics": provenance.get("metrics") or {},
        "data_window": provenance.get("data_window"),
        "pipeline_run": provenance.get("pipeline_run") or pipeline_run(),
        "trained_from": provenance.get("trained_from") or trained_from,
        "notebooks": notebooks,
    }
    record.update({k: v for k, v in provenance.items() if k not in known})
    return (json.dumps(record, indent=2, sort_keys=True, default=str) + "\n").encode()


def metrics_table(metrics: dict[str, Any]) -> list[str]:
    if not metrics:
        return []
    nested = any(isinstance(v, dict) for v in metrics.values())
    cols = list(dict.fromkeys(k for v in metrics.values() if isinstance(v, dict) for k in v)) if nested else ["value"]

    def fmt(v: Any) -> str:
        return f"{v:.6g}" if isinstance(v, float) else "" if v is None else str(v)

    rows = ["| metric | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for name, v in metrics.items():
        cells = [fmt(v.get(c)) for c in cols] if isinstance(v, dict) else [fmt(v)]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return rows


def pull_request_text(ctx, result: CommitResult, provenance: dict | None) -> tuple[str, str]:
    name, version = model_of(ctx, provenance)
    title = f"Retrain {name} v{version}" if version not in (None, "") else result.message.splitlines()[0]
    p = provenance or {}
    lines = [f"Automated commit by mlops: `{result.commit[:12] if result.commit else '?'}` on `{result.branch}`.", ""]
    table = metrics_table(p.get("metrics") or {})
    if table:
        lines += ["**Metrics**", "", *table, ""]
    if p.get("data_window"):
        lines += [f"**Data window:** `{json.dumps(p['data_window'], default=str)}`", ""]
    run = p.get("pipeline_run") or pipeline_run()
    if run:
        lines += [f"**Pipeline run:** {run.get('url') or run.get('build_id') or run}", ""]
    lines += ["**Files**", ""] + [f"- `{path}`" for path in result.changed]
    if result.provenance:
        lines += ["", f"Provenance: `{result.provenance}`"]
    return title, "\n".join(lines) + "\n"


def default_message(ctx, rels: list[str], provenance: dict | None) -> str:
    names = ", ".join(Path(r).name for r in rels)
    name, version = model_of(ctx, provenance)
    if provenance is not None and version not in (None, ""):
        return f"Retrain {name} v{version}: update {names}"
    return f"mlops: update {names}"


def with_marker(message: str, marker: str) -> str:
    if not marker or marker in message:
        return message
    subject, nl, body = message.partition("\n")
    return f"{subject.rstrip()} {marker}{nl}{body}"


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
        data = nbmod.read(path).raw
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
            out.extend(f.resolve() for f in nbmod.iter_notebook_files([p]))
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
        from .commit_local import commit_on_local_branch

        return commit_on_local_branch(ctx, git, result, contents, provenance, decision)
    if not ctx.dry_run:
        for rel, data in contents.items():
            _write(git.root / rel, data)
        result.commit = git.commit_paths(all_rels, text)
        if result.commit is None:  # the files changed under us back to HEAD's content
            result.no_changes, result.changed = True, []
            return result
    if not decision.push:
        from .commit_local import not_pushed

        result.committed_on = git.branch() or "HEAD (detached)"
        result.notes.append(not_pushed(result.committed_on, decision, dry_run=ctx.dry_run))
        return result
    return publish(ctx, git, result, rels=all_rels, pull_request=pull_request, provenance=provenance,
                   work_items=work_items)



# ---------------------------------------------------------------- pushing


def publish(ctx, git, result: CommitResult, *, rels: list[str], pull_request: bool, provenance: dict | None,
            work_items: list[int] | None) -> CommitResult:
    """Push the commit (or plan to): straight to the target branch, or through a pull request."""
    scm = ctx.config.scm
    if result.remote is None:
        result.notes.append(f"no remote {scm.remote!r}: committed locally, not pushed")
        return result
    via_pr = pull_request or scm.protected
    if via_pr and not organization_known(ctx):
        raise UsageError(
            f"scm.protected is true but no Azure DevOps organization is known to open a pull request on {result.target_branch}",
            hint="set scm.azure_devops.organization_url, or run inside Azure Pipelines",
        )
    if ctx.dry_run:
        result.branch = (automation_branch(*model_of(ctx, provenance), "0" * 8) if via_pr else result.target_branch)
        result.notes.append(f"would push HEAD:refs/heads/{result.branch} to {result.remote}"
                            + (f" and open a pull request into {result.target_branch}" if via_pr else ""))
        return result
    if not via_pr:
        outcome = _push_with_retry(git, result, result.target_branch, rels, overwrite=False)
        if outcome.ok:
            return result
        if outcome.kind != "protected":
            raise _push_error(ctx, git, result, outcome)
        result.notes.append(f"{result.target_branch} requires a pull request (TF402455)")
        ctx.console.warn(f"{result.target_branch} requires a pull request (TF402455); going through a pull request "
                         "(set scm.protected: true to skip the direct push)")
        if not organization_known(ctx):
            raise CheckFailed(
                f"{result.target_branch} is protected (TF402455) and no Azure DevOps organization is known to open a "
                f"pull request; the commit {result.commit[:12]} is kept locally",
                hint="set scm.azure_devops.organization_url (or run in Azure Pipelines) and scm.protected: true",
            )
    name, version = model_of(ctx, provenance)
    source = automation_branch(name, version, result.commit)
    outcome = _push_with_retry(git, result, source, rels, overwrite=True)
    if not outcome.ok:
        raise _push_error(ctx, git, result, outcome)
    title, description = pull_request_text(ctx, result, provenance)
    items = list(dict.fromkeys([*(work_items or []), *work_items_of(provenance)]))
    result.pull_request = ctx.githost.open_or_update_pull_request(
        source_branch=source, target_branch=result.target_branch, title=title, description=description,
        work_item_ids=items or None,
    )
    return result


def _push_with_retry(git, result: CommitResult, branch: str, rels: list[str], *, overwrite: bool):
    """Push; when the remote moved, fetch, re-apply the commit on its tip and push once more."""
    outcome = git.push(result.commit, branch)
    if outcome.kind == "non-fast-forward":
        tip = git.fetch(branch)
        if tip is None:
            return outcome
        try:
            rebased = git.rebase_paths(result.commit, tip, rels, overwrite=overwrite)
        except ConflictError as exc:
            outcome.detail = exc.message
            return outcome
        outcome = git.push(rebased, branch)
        if outcome.ok and rebased != result.commit:
            result.rebased = True
            if overwrite:  # an automation branch: the local HEAD stays on its own history
                result.notes.append(f"pushed {rebased[:12]} on top of {branch}")
            else:
                old = result.commit
                if not git.advance_head(old, rebased):
                    result.notes.append(f"local HEAD left at {old[:12]}: a local change is in the way of {rebased[:12]}")
                result.commit = rebased
    if outcome.ok:
        result.branch, result.pushed = branch, True
        if outcome.kind == "up-to-date":
            result.notes.append(f"{branch} already had this content")
    return outcome


def _push_error(ctx, git, result: CommitResult, outcome) -> Exception:
    from ..adapters.azure.errors import build_service_name

    branch = outcome.ref.removeprefix("refs/heads/")
    kept = f"the commit {result.commit[:12]} is kept locally"
    if outcome.kind == "non-fast-forward":
        remote = outcome.remote
        return CheckFailed(
            f"{remote}/{branch} moved and the automation commit could not be pushed on top of it "
            f"({outcome.detail}); {kept}",
            hint=f"git fetch {remote} {branch} && git rebase {remote}/{branch} && git push {remote} HEAD:refs/heads/{branch}",
        )
    if outcome.kind == "permission":
        org_url = ctx.config.scm.azure_devops.organization_url or os.environ.get("SYSTEM_COLLECTIONURI") or ""
        from ..adapters.azure.connection import organization_name

        project = ctx.config.scm.azure_devops.project or os.environ.get("SYSTEM_TEAMPROJECT")
        m = re.search(r"identity '([^']+)'", outcome.detail)
        identity = build_service_name(project, organization_name(org_url) if org_url else None)
        who = f"'{identity}'" + (f" (the push ran as {m.group(1)})" if m else "")
        return ServiceError(
            f"push to {branch} refused: the build identity lacks the Git 'Contribute' (GenericContribute) permission "
            f"(TF401027); {kept}",
            hint=f"grant {who} Contribute = Allow in Project settings > Repositories > Security",
        )
    if outcome.kind == "auth":
        return ServiceError(
            f"push to {branch} refused: authentication failed; {kept}",
            hint="map the token into the step: env: {SYSTEM_ACCESSTOKEN: $(System.AccessToken)}, or set AZURE_DEVOPS_EXT_PAT",
        )
    if outcome.kind == "protected":
        return CheckFailed(f"push to {branch} refused by a branch policy (TF402455); {kept}")
    return ServiceError(f"push to {branch} failed: {outcome.detail}; {kept}")
