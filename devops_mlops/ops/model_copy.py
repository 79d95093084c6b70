"""Use case: bring a validated version from one target's registry into another's ("deploy models").

``mlops --target production model promote --from staging --version N --to production``: version N
of the staging target's model becomes a version of the production target's model, tagged with
where it came from (``mlops.source``: registry, model, version; and the run and commit), then
goes through production's own gate and gets production's slot as any promotion does.

* Within one Unity Catalog metastore (both targets on the same ``databricks-uc`` registry, other
  catalogs): ``MlflowClient.copy_model_version``; when mlflow cannot copy (a source version
  without a logged model id, mlflow#22012, or one whose logged model the agent cannot look up,
  mlflow#17648) the files are downloaded and registered again instead.
  Within one metastore the production workspace reads the staging catalog itself, so only the
  destination target's credentials are used.
* Across registries (a workspace registry in another workspace, another tracking server, the
  embedded default's sqlite): the files are downloaded from the source, with the source target's
  credentials (``profile:`` per target when both are Databricks workspaces), and registered in
  the destination in a run of the experiment ``mlops-promotions``.

Run again, the copy is found by its ``mlops.source`` tag and nothing is written.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import MlopsError, UsageError

SOURCE_TAG = "mlops.source"
EXPERIMENT = "mlops-promotions"


@dataclass
class CopyResult:
    source_target: str
    source_model: str
    source_version: int
    model: str
    version: int
    #: copy_model_version | download and register | already copied
    how: str

    @property
    def copied(self) -> bool:
        return self.how != "already copied"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "copied": self.copied}


def source_key(registry_uri: str, name: str, version: int) -> str:
    return f"{registry_uri}|{name}|{version}"


def plan_copy(src_ctx: Any, dst_ctx: Any, version: int) -> tuple[str, str]:
    """(source model, destination model); UsageError when both are the same model of the same registry."""
    src_name, dst_name = src_ctx.config.model.name, dst_ctx.config.model.name
    if src_ctx.registry.registry_uri == dst_ctx.registry.registry_uri and src_name == dst_name:
        raise UsageError(f"--from {src_ctx.target.name} names the same registry and model as target "
                         f"{dst_ctx.target.name} ({dst_name} in {dst_ctx.registry.registry_uri}): promote "
                         "the version without --from")
    return src_name, dst_name


def find_copy(dst: Any, dst_name: str, key: str) -> int | None:
    try:
        versions = dst.get_model(dst_name, with_metrics=False)
    except MlopsError:
        return None  # no such model yet: the copy creates it
    found = [v.version for v in versions if v.tags.get(SOURCE_TAG) == key]
    return min(found) if found else None


def copy_version(src_ctx: Any, dst_ctx: Any, version: int) -> CopyResult:
    """Version ``version`` of the source target's model as a version of the destination's (found or made)."""
    src_name, dst_name = plan_copy(src_ctx, dst_ctx, version)
    src, dst = src_ctx.registry, dst_ctx.registry
    # within one Unity Catalog metastore the destination's workspace reads the source catalog
    # itself: one set of credentials (production's) does the whole copy
    reader = dst if dst.same_store(src) else src
    try:
        source = reader.get_version(src_name, int(version))  # with its run: the commit it was trained from
    except MlopsError:
        if reader is src:
            raise
        # not one metastore after all (another region's workspace): the source target's own
        # credentials read it, and its files travel
        reader = src
        source = src.get_version(src_name, int(version))
    key = source_key(src.registry_uri, src_name, source.version)
    result = CopyResult(src_ctx.target.name, src_name, source.version, dst_name, 0, "already copied")
    existing = find_copy(dst, dst_name, key)
    if existing is not None:
        result.version = existing
        return result
    if dst_ctx.dry_run:
        result.how = "would copy"
        return result
    from .model_status import commit_of

    commit = commit_of(source.tags) or ""
    tags = {SOURCE_TAG: key, "mlops.source.target": src_ctx.target.name, "mlops.source.model": src_name,
            "mlops.source.version": str(source.version), "mlops.source.run_id": source.run_id or "",
            "mlops.git_commit": commit}
    if reader is dst:
        try:
            result.version = dst.copy_within(src, src_name, source.version, dst_name, tags)
            result.how = "copy_model_version"
            return result
        except MlopsError as exc:
            if _denied(exc):
                raise _permission_error(dst_name, exc) from None
            # mlflow could not copy (see the module's docstring): the files travel instead
    with tempfile.TemporaryDirectory(prefix="mlops-copy-") as tmp:
        folder = reader.download(src_name, source.version, tmp)
        try:
            result.version = dst.register_files(folder, dst_name, tags, experiment=EXPERIMENT)
        except MlopsError as exc:
            if _denied(exc):
                raise _permission_error(dst_name, exc) from None
            raise
    result.how = "download and register"
    return result


def _denied(exc: MlopsError) -> bool:
    return "PERMISSION_DENIED" in exc.message or "403" in exc.message


def _permission_error(dst_name: str, exc: MlopsError) -> MlopsError:
    """A refused write into the destination model: exit 1, naming what to grant."""
    if dst_name.count(".") == 2:
        catalog, schema, _ = dst_name.split(".")
        grant = (f"GRANT USE CATALOG ON CATALOG {catalog}, USE SCHEMA and CREATE MODEL ON SCHEMA {catalog}.{schema} "
                 f"(or MANAGE on the model {dst_name}) to the identity running mlops")
    else:
        grant = f"give the identity running mlops CAN MANAGE on the registered model {dst_name}"
    return MlopsError(f"cannot copy into {dst_name}: {exc.message}", hint=grant)


def promote_from(ctx: Any, source_target: str, version: int, slot: str, force: bool = False):
    """Copy ``version`` of ``source_target``'s model into this target's, then promote the copy
    (production's gate runs on it, as ``validate`` would). (CopyResult, PromotionResult | None)."""
    from .model_promote import promote

    if source_target == ctx.target.name:
        raise UsageError(f"--from {source_target} is the target being promoted: promote the version without --from")
    copy = copy_version(ctx.for_target(source_target), ctx, version)
    if copy.how == "would copy":
        return copy, None
    return copy, promote(ctx, copy.version, slot, force)
