"""Whether a commit mlops makes is pushed: the local rehearsal stays local, unless asked.

The first of these that says something decides:

1. the command line: ``--push`` / ``--no-push``;
2. the target: ``targets.<name>.scm.push``;
3. the project: ``scm.push``;
4. the command: ``mlops commit`` is an explicit request to commit and push, so it pushes;
5. the target's backend: a ``databricks`` target pushes (the monitoring pipeline commits the
   retrained notebook back), a ``local`` one does not (a rehearsal on a developer's clone must
   not reach the team's remote).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PushDecision:
    push: bool
    #: what decided it, in words a person can act on ("--no-push", "targets.local.scm.push: false", ...)
    reason: str

    def not_pushed_hint(self) -> str:
        """How to push after all (for a "not pushed" summary)."""
        if self.reason == "--no-push":
            return "run without --no-push to push"
        return "give --push, or set scm.push: true, to push"


def decide(config, target, override: bool | None = None, *, explicit: bool = False) -> PushDecision:
    """``config``: the Config; ``target``: the Target; ``override``: --push (True) / --no-push (False) /
    None; ``explicit``: the command is `mlops commit` itself, not the retrain loop's auto-commit."""
    if override is not None:
        return PushDecision(override, "--push" if override else "--no-push")
    target_push = target.scm.push
    if target_push is not None:
        return PushDecision(target_push, f"targets.{target.name}.scm.push: {str(target_push).lower()}")
    if config.scm.push is not None:
        return PushDecision(config.scm.push, f"scm.push: {str(config.scm.push).lower()}")
    if explicit:
        return PushDecision(True, "mlops commit pushes")
    if target.backend == "databricks":
        return PushDecision(True, f"target {target.name} has backend: databricks")
    return PushDecision(False, f"target {target.name} has backend: local")
