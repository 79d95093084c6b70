"""The retrain loop's auto-commit when it is not pushed: a local branch, nothing else touched.

On a ``backend: local`` target (unless ``scm.push`` or ``--push`` says otherwise, see
:mod:`devops_mlops.core.push_policy`) the retrained notebook and its provenance record are
committed on ``mlops/retrain-<model>-v<N>``, a branch that starts at HEAD. The commit is built
from bytes in a temporary index (:meth:`LocalGit.commit_contents`): the checked-out branch,
the index and the working tree stay exactly as they were, nothing reaches a remote and no
pull request is opened. ``git merge mlops/retrain-<model>-v<N>`` takes the change when wanted.

Running again with the same content and the same HEAD finds the branch already there (no new
commit). A branch of that name holding something else (an earlier rehearsal that restarted the
version numbers) is left alone: the new commit goes on ``<name>-<sha8>``.
"""

from __future__ import annotations

from typing import Any

from ..core.push_policy import PushDecision
from .commit_text import clean_ref_part, model_of


def local_branch(model: str, version: Any) -> str:
    """``mlops/retrain-<model>-v<N>`` (``mlops/retrain-<model>`` without a version)."""
    clean = clean_ref_part
    return f"mlops/retrain-{clean(model)}" + (f"-v{clean(str(version))}" if version not in (None, "") else "")


def not_pushed(branch: str, decision: PushDecision, *, dry_run: bool = False) -> str:
    verb = "would commit" if dry_run else "committed"
    return f"{verb} on {branch}, not pushed ({decision.reason}; {decision.not_pushed_hint()})"


def commit_on_local_branch(ctx, git, result, contents: dict[str, bytes], provenance: dict | None,
                           decision: PushDecision):
    """Commit ``contents`` on the retrain branch; ``result`` is the CommitResult, filled in and returned."""
    wanted = local_branch(*model_of(ctx, provenance))
    result.push_decision = decision.reason
    if ctx.dry_run:
        result.committed_on = wanted
        result.notes.append(not_pushed(wanted, decision, dry_run=True))
        return result
    base = git.head()
    commit = git.commit_contents(contents, result.message, base)
    if commit is None:  # the content is HEAD's after all
        result.no_changes, result.changed = True, []
        return result
    branch, tip = wanted, git.branch_tip(wanted)
    if tip is not None and git.same_change(tip, commit):
        commit = tip
        result.notes.append(f"{branch} already had this commit")
    else:
        if tip is not None:
            branch = f"{wanted}-{commit[:8]}"
        git.set_branch(branch, commit)
    result.commit, result.committed_on = commit, branch
    result.notes.append(not_pushed(branch, decision))
    return result
