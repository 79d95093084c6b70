"""Alerts over every configured channel (``alerts:`` in mlops.yaml); a failing channel
is reported and does not stop the others.

Channels (``kind``):

* ``azure-devops-work-item``: through the azure-devops SDK (Work Item Tracking). An
  open item for the same model, found by WIQL on the tag ``mlops-model:<name>`` (a tag
  we own), is updated (title, a history entry with the new metrics and tries) instead of
  creating a duplicate. ``type`` (default Bug), ``area_path``, ``tags``;
  ``organization_url``/``project`` default to ``scm.azure_devops`` then
  ``SYSTEM_COLLECTIONURI``/``SYSTEM_TEAMPROJECT``; token from ``SYSTEM_ACCESSTOKEN``
  else ``AZURE_DEVOPS_EXT_PAT``.
* ``teams``: a Teams Workflows webhook (``url``) POSTed an Adaptive Card (requests).
* ``pipeline``: ``##vso[task.logissue type=warning]`` and ``##vso[build.addbuildtag]``
  when ``TF_BUILD=True``; outside a pipeline it is reported as skipped (ok=False).
* ``file``: JSON lines (``path``, default ``.mlops/alerts.jsonl``); always on for the
  local backend even when not configured.

``from_context(ctx)`` -> :class:`ChannelAlerts` (implements ``ports.alerts.Alerts``).
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs, urlsplit

from .. import console as console_mod
from ..errors import MlopsError, ServiceError
from ..ports.alerts import Alert, Delivery

if TYPE_CHECKING:  # pragma: no cover
    from ..config import AlertCfg, AzureDevOpsCfg
    from ..console import Console

MODEL_TAG = "mlops-model:{name}"
CLOSED_STATES = ("Closed", "Done", "Removed", "Resolved", "Completed", "Cut")
DEFAULT_FILE = ".mlops/alerts.jsonl"


class Channel(Protocol):
    name: str

    def deliver(self, alert: Alert) -> str: ...  # returns the detail; raises on failure


def _stamp() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# ---------------------------------------------------------------- file
class FileChannel:
    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = path

    def deliver(self, alert: Alert) -> str:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if alert.key and self._has(alert.key):  # sent by a run killed before it could record that
            return f"{self.path} (already recorded)"
        record = {"time": _stamp(), **asdict(alert)}
        line = console_mod.mask(json.dumps(record, default=str, sort_keys=True))
        with open(self.path, "a", encoding="utf-8") as fh:  # one write per record: lines stay whole
            fh.write(line + "\n")
        return str(self.path)

    def _has(self, key: str) -> bool:
        if not self.path.is_file():
            return False
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    if json.loads(line).get("key") == key:
                        return True
                except ValueError:
                    continue
        return False


# ---------------------------------------------------------------- pipeline
class PipelineChannel:
    name = "pipeline"

    def __init__(self, console: Console) -> None:
        self.console = console

    def deliver(self, alert: Alert) -> str:
        if not console_mod.in_pipeline():
            raise ServiceError("skipped: not inside an Azure Pipelines job (TF_BUILD is not True)")
        kind = "error" if alert.severity == "error" else "warning"
        self.console.vso("task.logissue", f"{alert.title}: {alert.summary}", type=kind)
        tags = ["mlops-alert", f"mlops-model-{_slug(alert.model_name)}"]
        for tag in tags:
            self.console.vso("build.addbuildtag", tag)
        return f"logged a {kind} and tagged the build " + ", ".join(tags)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name)


# ---------------------------------------------------------------- teams
def adaptive_card(alert: Alert) -> dict[str, Any]:
    """The Teams Workflows payload: a message with one Adaptive Card attachment."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": alert.title, "size": "Large", "weight": "Bolder", "wrap": True,
         "color": "Attention" if alert.severity in ("warning", "error") else "Default"},
        {"type": "TextBlock", "text": alert.summary, "wrap": True},
        {"type": "FactSet", "facts": [{"title": "Model", "value": alert.model_name},
                                      {"title": "Severity", "value": alert.severity},
                                      {"title": "Tries", "value": str(len(alert.tries))}]},
    ]
    if alert.metrics:
        cols = list(dict.fromkeys(k for m in alert.metrics for k in m))
        body.append({"type": "Table", "firstRowAsHeaders": True, "columns": [{"width": 1} for _ in cols],
                     "rows": [{"type": "TableRow", "cells": [_cell(c) for c in cols]}]
                     + [{"type": "TableRow", "cells": [_cell(m.get(c, "")) for c in cols]} for m in alert.metrics]})
    card = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
            "version": "1.5", "body": body,
            "actions": [{"type": "Action.OpenUrl", "title": k, "url": v} for k, v in alert.links.items()]}
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}


def _cell(value: Any) -> dict[str, Any]:
    return {"type": "TableCell", "items": [{"type": "TextBlock", "text": str(value), "wrap": True}]}


class TeamsChannel:
    name = "teams"

    def __init__(self, url: str, timeout: float = 15.0) -> None:
        self.url = url
        self.timeout = timeout
        for values in parse_qs(urlsplit(url).query).values():  # the sig= of a Workflows URL is a secret
            for v in values:
                console_mod.register_secret(v)

    def deliver(self, alert: Alert) -> str:
        import requests

        where = urlsplit(self.url).hostname or "the webhook"
        try:
            resp = requests.post(self.url, json=adaptive_card(alert), timeout=self.timeout)
        except requests.RequestException as exc:
            raise ServiceError(f"cannot reach the Teams webhook at {where}: {type(exc).__name__}") from None
        if resp.status_code >= 300:
            raise ServiceError(f"the Teams webhook at {where} answered {resp.status_code}",
                               hint="check the Workflows URL (alerts[].url) and that the flow is on")
        return f"posted an Adaptive Card to {where} ({resp.status_code})"


# ---------------------------------------------------------------- work item
class WorkItemChannel:
    name = "azure-devops-work-item"

    def __init__(self, cfg: AlertCfg, scm: AzureDevOpsCfg | None = None, **connect_kwargs: Any) -> None:
        self.cfg = cfg
        self.scm = scm
        self.connect_kwargs = connect_kwargs

    def _ado(self):
        from .azure.connection import AzureDevOps, resolve

        target = resolve(self.scm, organization_url=self.cfg.organization_url, project=self.cfg.project)
        target.require(project=True)
        return AzureDevOps(target, **self.connect_kwargs)

    def deliver(self, alert: Alert) -> str:
        from azure.devops.v7_1.work_item_tracking.models import JsonPatchOperation, TeamContext, Wiql

        from .azure.errors import translated

        ado = self._ado()
        target = ado.target
        tag = MODEL_TAG.format(name=alert.model_name)
        wit = ado.wit()
        states = ", ".join(f"'{s}'" for s in CLOSED_STATES)
        query = ("SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project "
                 f"AND [System.Tags] CONTAINS '{_wiql_str(tag)}' AND [System.State] NOT IN ({states}) "
                 "ORDER BY [System.ChangedDate] DESC")
        with translated("find the open work item for the model", target):
            found = wit.query_by_wiql(Wiql(query=query), team_context=TeamContext(project=target.project)).work_items or []
        text = _html(alert)
        if found:
            wid = found[0].id
            ops = [JsonPatchOperation(op="add", path="/fields/System.Title", value=alert.title[:255]),
                   JsonPatchOperation(op="add", path="/fields/System.History", value=text)]
            with translated(f"update work item {wid}", target):
                item = wit.update_work_item(ops, wid, project=target.project)
            return f"updated work item #{item.id} ({_link(target, item.id)})"
        tags = "; ".join(dict.fromkeys([tag, "mlops", *self.cfg.tags]))
        description = "Microsoft.VSTS.TCM.ReproSteps" if self.cfg.type.lower() == "bug" else "System.Description"
        ops = [JsonPatchOperation(op="add", path="/fields/System.Title", value=alert.title[:255]),
               JsonPatchOperation(op="add", path=f"/fields/{description}", value=text),
               JsonPatchOperation(op="add", path="/fields/System.Tags", value=tags)]
        if self.cfg.area_path:
            ops.append(JsonPatchOperation(op="add", path="/fields/System.AreaPath", value=self.cfg.area_path))
        with translated(f"create a {self.cfg.type} work item", target):
            item = wit.create_work_item(ops, target.project, self.cfg.type)
        return f"created work item #{item.id} ({_link(target, item.id)})"


def _wiql_str(value: str) -> str:
    return value.replace("'", "''")


def _link(target: Any, wid: int) -> str:
    from urllib.parse import quote

    return f"{target.organization_url}/{quote(target.project or '')}/_workitems/edit/{wid}"


def _html(alert: Alert) -> str:
    e = html.escape
    parts = [f"<p><b>{e(alert.title)}</b></p>", f"<p>{e(alert.summary)}</p>"]
    for caption, rows in (("Metrics", alert.metrics), ("Retraining tries", alert.tries)):
        if rows:
            cols = list(dict.fromkeys(k for r in rows for k in r))
            head = "".join(f"<th>{e(str(c))}</th>" for c in cols)
            body = "".join("<tr>" + "".join(f"<td>{e(str(r.get(c, '')))}</td>" for c in cols) + "</tr>" for r in rows)
            parts.append(f"<p>{caption}</p><table><tr>{head}</tr>{body}</table>")
    if alert.links:
        parts.append("<ul>" + "".join(f'<li><a href="{e(v)}">{e(k)}</a></li>' for k, v in alert.links.items()) + "</ul>")
    parts.append(f"<p><i>{e(_stamp())} from devops-mlops</i></p>")
    return "".join(parts)


# ---------------------------------------------------------------- all channels
class ChannelAlerts:
    """``ports.alerts.Alerts`` over several channels."""

    def __init__(self, channels: list[Channel], console: Console | None = None, *, dry_run: bool = False) -> None:
        self.channels = channels
        self.console = console
        self.dry_run = dry_run

    def send(self, alert: Alert) -> list[Delivery]:
        out = []
        for channel in self.channels:
            if self.dry_run:
                out.append(Delivery(channel.name, True, f"dry run: would send {alert.title!r}"))
                continue
            try:
                detail = channel.deliver(alert)
                out.append(Delivery(channel.name, True, console_mod.mask(detail)))
            except MlopsError as exc:
                out.append(Delivery(channel.name, False, console_mod.mask(exc.one_line())))
            except Exception as exc:  # noqa: BLE001 - a channel's bug must not silence the others
                out.append(Delivery(channel.name, False, console_mod.mask(f"{type(exc).__name__}: {exc}")))
        return out


def channels_for(ctx: Any, **connect_kwargs: Any) -> list[Channel]:
    """The channels of the context's ``alerts:`` (``ctx``: the run context; its ``config``,
    ``console`` and ``target`` are read)."""
    cfg = ctx.config
    channels: list[Channel] = []
    for a in cfg.alerts:
        if a.kind == "file":
            path = Path(a.path or DEFAULT_FILE)
            channels.append(FileChannel(path if path.is_absolute() else cfg.root / path))
        elif a.kind == "teams":
            channels.append(TeamsChannel(a.url or ""))
        elif a.kind == "pipeline":
            channels.append(PipelineChannel(ctx.console))
        elif a.kind == "azure-devops-work-item":
            channels.append(WorkItemChannel(a, cfg.scm.azure_devops, **connect_kwargs))
    if ctx.target.backend == "local" and not any(isinstance(c, FileChannel) for c in channels):
        channels.insert(0, FileChannel(cfg.root / DEFAULT_FILE))
    return channels


def from_context(ctx: Any) -> ChannelAlerts:
    return ChannelAlerts(channels_for(ctx), ctx.console, dry_run=ctx.dry_run)
