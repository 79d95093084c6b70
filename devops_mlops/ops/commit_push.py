"""Publishing a commit of notebooks: push it to the target branch (fetch and re-apply once when the
remote moved), or to ``automation/retrain-<model>-v<N>`` with a pull request (``ctx.githost``) when
the branch is protected; failures become errors that say what to grant or run, the commit kept.
"""

from __future__ import annotations

import os
import re

from ..errors import CheckFailed, ConflictError, ServiceError, UsageError
from ..ports.devops_admin import build_service_name, organization_name
from .commit_text import CommitResult, automation_branch, model_of, pull_request_text, work_items_of


def organization_known(ctx) -> bool:
    """Whether an Azure DevOps organization is known to open a pull request in."""
    return bool(ctx.config.scm.azure_devops.organization_url or os.environ.get("SYSTEM_COLLECTIONURI"))


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
