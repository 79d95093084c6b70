"""Use cases: promote a version to staging/production (gated), roll a slot back.

Every change is recorded twice: as tags on the model version (``mlops.<slot>.*``)
and as a row of the promotions log (the ``promotions`` Delta table, or tags on the
registered model where this process cannot write the target's tables: see
promotion_log), which rollback reads. Race safety: the slot's holder is checked before the change (it must be
the one the gate compared against) and after it (it must be us); on this
machine a file lock serialises promotions of the same model and slot. The loser
gets a ConflictError; the slot is never emptied and never given to a version
that failed its gate.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import getpass
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .. import killpoint
from ..core.promotion import SLOTS, GateResult, previous_holder
from ..errors import CheckFailed, ConflictError, UsageError
from ..files.lock import file_lock
from ..ports.git import Repository
from .model_validate import ValidationResult, model_name, validate
from .promotion_log import log_for


@dataclass
class PromotionResult:
    model: str
    slot: str
    version: int
    previous: int | None
    action: str  # promote | rollback
    changed: bool
    dry_run: bool = False
    forced: bool = False
    gate: GateResult | None = None
    validation: ValidationResult | None = None
    tags: dict[str, str] = field(default_factory=dict)
    log: str | None = None
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "slot": self.slot,
            "version": self.version,
            "previous": self.previous,
            "action": self.action,
            "changed": self.changed,
            "dry_run": self.dry_run,
            "forced": self.forced,
            "gate": self.gate.to_dict() if self.gate else None,
            "validation": self.validation.to_dict() if self.validation else None,
            "tags": self.tags,
            "log": self.log,
            "message": self.message,
        }


def _check_slot(slot: str) -> None:
    if slot not in SLOTS:
        raise UsageError(f"unknown slot {slot!r} (staging or production)")


def who() -> str:
    return os.environ.get("BUILD_REQUESTEDFOR") or os.environ.get("USER") or _user()


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def git_commit(repository: Repository) -> str | None:
    """The commit being worked on: the pipeline's source version, else HEAD of the local repository
    (None outside a repository or before its first commit)."""
    commit = os.environ.get("BUILD_SOURCEVERSION")
    if commit:
        return commit
    return repository.head() if repository.is_repository() else None


@contextlib.contextmanager
def slot_lock(ctx, name: str, slot: str) -> Iterator[None]:
    """Serialise changes of one model's slot among processes on this machine."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    with file_lock(ctx.state_dir / f".promote-{safe}-{slot}.lock"):
        yield


def _version_of(holder) -> int | None:
    return None if holder is None else holder.version


def _change(ctx, name: str, slot: str, version: int, before: int | None, *, action: str, record: dict[str, Any]):
    """Give ``slot`` to ``version`` if it is still held by ``before``; verify; tag; log. Returns the tags."""
    registry = ctx.registry
    with slot_lock(ctx, name, slot):
        now = _version_of(registry.holder(name, slot))
        if now != before:
            raise ConflictError(
                f"{slot} of {name} changed from {_label(before)} to {_label(now)} while this {action} was running; "
                "nothing was changed",
                hint="re-run to validate against the new holder",
            )
        registry.assign(name, slot, version)
        killpoint.reached("promote.assigned")
        after = _version_of(registry.holder(name, slot))
        if after != version:
            raise ConflictError(
                f"lost a race: {slot} of {name} is now held by {_label(after)}, not version {version}",
                hint="another promotion ran at the same time; check `mlops model status` and re-run if needed",
            )
        try:
            return _tag_and_log(ctx, name, slot, version, before, action=action, record=record)
        except Exception:
            # the record could not be written: the slot goes back to its holder, so a promotion is
            # never left half made (a kill here is finished by the next run: see _unrecorded)
            _put_back(registry, name, slot, version, before)
            raise


def _put_back(registry, name: str, slot: str, version: int, before: int | None) -> None:
    try:
        if before is None:
            registry.unassign(name, slot, version)
        else:
            registry.assign(name, slot, before)
    except Exception:  # noqa: BLE001, S110 - the first error is the one to report
        pass


def _tag_and_log(ctx, name: str, slot: str, version: int, before: int | None, *, action: str, record: dict[str, Any]):
    now_iso = _dt.datetime.now(_dt.UTC)
    done = "promoted" if action == "promote" else "rolled_back"
    tags = {
        f"mlops.{slot}.{done}_at": now_iso.isoformat(timespec="seconds"),
        f"mlops.{slot}.{done}_by": record["promoted_by"],
        f"mlops.{slot}.previous_version": "" if before is None else str(before),
        f"mlops.{slot}.pipeline_run_id": record.get("pipeline_run_id") or "",
        f"mlops.{slot}.git_commit": record.get("git_commit") or "",
        f"mlops.{slot}.gate": record["gate"],
        f"mlops.{slot}.forced": "true" if record.get("forced") else "false",
    }
    ctx.registry.set_tags(name, version, tags)
    _append_log(ctx, {**record, "promoted_at": now_iso, "version": version, "previous_version": before})
    return tags


def _unrecorded(ctx, name: str, slot: str, version: int) -> int | None | bool:
    """False when the promotions log's last row for ``slot`` names ``version`` (its holder); else the
    version that row names (the holder before it; None when the log has none)."""
    log = promotions_log(ctx, name, slot)
    last = int(log.iloc[-1]["version"]) if len(log) else None
    return False if last == int(version) else last


def _append_log(ctx, row: dict[str, Any]) -> None:
    log_for(ctx).append(row)


def _label(version: int | None) -> str:
    return "nobody" if version is None else f"version {version}"


def _record(ctx, name: str, slot: str, action: str, gate: str, summary: str, forced: bool) -> dict[str, Any]:
    return {
        "model_name": name,
        "slot": slot,
        "action": action,
        "gate": gate,
        "gate_summary": summary,
        "forced": forced,
        "promoted_by": who(),
        "pipeline_run_id": os.environ.get("BUILD_BUILDID"),
        "git_commit": git_commit(ctx.git),
        "target": ctx.target.name,
    }


def promote(
    ctx,
    version: int,
    slot: str,
    force: bool = False,
    *,
    model: str | None = None,
    eval_frame: Any = None,
    validation: ValidationResult | None = None,
) -> PromotionResult:
    """Give ``slot`` to ``version``, gated by :func:`validate` unless ``force``.

    ``validation``: a result the caller already has (the lifecycle validates once, then promotes);
    ``eval_frame``: the data to validate on otherwise. Raises CheckFailed (exit 1) on a failed gate,
    ConflictError when another promotion won a race, ServiceError for registry problems.
    """
    _check_slot(slot)
    name = model_name(ctx, model)
    log_for(ctx)  # where the row will go is settled before anything changes (ConfigError: nothing changed)
    registry = ctx.registry
    target = registry.get_version(name, int(version), with_metrics=False)
    holder = registry.holder(name, slot)
    before = _version_of(holder)
    result = functools.partial(
        PromotionResult, model=name, slot=slot, version=target.version, previous=before, action="promote"
    )
    if before == target.version:
        previous = False if ctx.dry_run else _unrecorded(ctx, name, slot, target.version)
        if previous is not False:
            # a promotion killed between the registry change and its record: finish recording it
            record = _record(ctx, name, slot, "promote", "recovered", "recorded after an interrupted promotion", force)
            with slot_lock(ctx, name, slot):
                tags = _tag_and_log(ctx, name, slot, target.version, previous, action="promote", record=record)
            return result(changed=True, previous=previous, tags=tags, log=log_for(ctx).location(),
                          message=f"{slot} of {name}: version {target.version} (recorded an interrupted promotion)")
        return result(
            changed=False,
            dry_run=ctx.dry_run,
            message=f"version {target.version} of {name} already holds {slot}; nothing changed",
        )
    gate_label, summary = "skipped", "forced: gate not run"
    if not force:
        if validation is None or validation.version != target.version:
            validation = validate(ctx, target.version, eval_frame, model=name)
        gate_label, summary = ("passed" if validation.passed else "failed"), validation.gate.summary()
        if not validation.passed:
            reasons = "; ".join(validation.gate.reasons)
            raise CheckFailed(f"version {target.version} of {name} failed the gate for {slot}: {reasons}")
        if slot == "production" and validation.production_version != before:
            raise ConflictError(
                f"production of {name} is held by {_label(before)} but the gate compared against "
                f"{_label(validation.production_version)}; nothing was changed",
                hint="re-run to validate against the current holder",
            )
    gate = validation.gate if validation is not None and not force else None
    if ctx.dry_run:
        return result(
            changed=False,
            dry_run=True,
            forced=force,
            gate=gate,
            validation=validation,
            message=f"would give {slot} of {name} to version {target.version} (now {_label(before)})",
        )
    record = _record(ctx, name, slot, "promote", gate_label, summary, force)
    tags = _change(ctx, name, slot, target.version, before, action="promote", record=record)
    return result(
        changed=True,
        forced=force,
        gate=gate,
        validation=validation,
        tags=tags,
        log=log_for(ctx).location(),
        message=f"{slot} of {name}: {_label(before)} -> version {target.version}" + (" (forced)" if force else ""),
    )


def promotions_log(ctx, name: str, slot: str | None = None):
    """The promotion rows of ``name`` (and ``slot``), oldest first, as a DataFrame (see promotion_log)."""
    return log_for(ctx).rows(name, slot)


def rollback(ctx, slot: str = "production", *, model: str | None = None) -> PromotionResult:
    """Give ``slot`` back to the version that held it before the current holder (from the promotions log)."""
    _check_slot(slot)
    name = model_name(ctx, model)
    registry = ctx.registry
    current = _version_of(registry.holder(name, slot))
    if current is None:
        raise UsageError(f"nothing holds {slot} of {name}; there is nothing to roll back")
    log = promotions_log(ctx, name, slot)
    back_to = previous_holder(log.to_dict("records") if len(log) else [], current)
    if back_to is None:
        raise UsageError(
            f"no previous holder of {slot} for {name} version {current} in the promotions log "
            f"({log_for(ctx).location()})",
            hint="promote a version explicitly with `mlops model promote --version N --to " + slot + "`",
        )
    registry.get_version(name, back_to, with_metrics=False)  # still exists?
    if ctx.dry_run:
        return PromotionResult(
            model=name,
            slot=slot,
            version=back_to,
            previous=current,
            action="rollback",
            changed=False,
            dry_run=True,
            message=f"would give {slot} of {name} back to version {back_to} (now version {current})",
        )
    record = _record(ctx, name, slot, "rollback", "skipped", f"rollback from version {current}", False)
    tags = _change(ctx, name, slot, back_to, current, action="rollback", record=record)
    return PromotionResult(
        model=name,
        slot=slot,
        version=back_to,
        previous=current,
        action="rollback",
        changed=True,
        tags=tags,
        log=log_for(ctx).location(),
        message=f"{slot} of {name}: version {current} -> version {back_to} (rolled back)",
    )
