"""Alerts port: every configured channel gets the alert; a failing channel does not stop the others."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class Alert:
    title: str
    model_name: str
    summary: str
    metrics: list[dict[str, Any]] = field(default_factory=list)
    tries: list[dict[str, Any]] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)
    severity: str = "warning"
    #: what the alert is about (e.g. the retrain loop); a channel that can look (the file) records one per key
    key: str = ""


@dataclass
class Delivery:
    channel: str
    ok: bool
    detail: str  # where it went (work item id, file path) or why it failed


class Alerts(Protocol):
    def send(self, alert: Alert) -> list[Delivery]: ...
