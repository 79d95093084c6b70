"""In-memory alerts (:class:`devops_mlops.ports.alerts.Alerts`) for tests of monitoring and the
retrain loop.

Every send gives one :class:`~devops_mlops.ports.alerts.Delivery` per channel (default: one
channel, "fake"). As the file channel does, an alert whose ``key`` was already recorded is not
recorded again. :meth:`FakeAlerts.fail` makes a channel fail (a Delivery with ``ok`` False, never
an exception). Assertion helpers: ``sent`` (what was recorded, in order), :meth:`FakeAlerts.titles`,
:meth:`FakeAlerts.for_model`.
"""

from __future__ import annotations

from ...ports.alerts import Alert, Delivery


class FakeAlerts:
    def __init__(self, channels: tuple[str, ...] = ("fake",)) -> None:
        self.channels = channels
        self.sent: list[Alert] = []
        self.failing: dict[str, str] = {}

    def fail(self, channel: str = "fake", reason: str = "the channel is down") -> None:
        self.failing[channel] = reason

    def send(self, alert: Alert) -> list[Delivery]:
        already = bool(alert.key) and any(a.key == alert.key for a in self.sent)
        detail = f"alert {alert.key} already recorded" if already else f"recorded alert {len(self.sent) + 1}: {alert.title}"
        out = [Delivery(c, False, self.failing[c]) if c in self.failing else Delivery(c, True, detail)
               for c in self.channels]
        if not already and any(d.ok for d in out):
            self.sent.append(alert)
        return out

    def titles(self) -> list[str]:
        return [a.title for a in self.sent]

    def for_model(self, name: str) -> list[Alert]:
        return [a for a in self.sent if a.model_name == name]
