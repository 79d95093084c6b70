"""What `mlops lifecycle` reports, and how it runs and times each step.

A :class:`StepRunner` runs one named step, records its wall and CPU seconds and
what it found in the :class:`LifecycleResult`, and stops the run
(:class:`Stopped`) at the first step that did not behave.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import MlopsError

if TYPE_CHECKING:
    from ..context import Context


@dataclass
class Step:
    """One step of the run: whether it behaved, its seconds, a line about it and what it returned."""

    name: str
    ok: bool
    seconds: float
    detail: str = ""
    #: user+sys seconds of this process and the kernels it ran (steadier than wall time on a busy machine)
    cpu_seconds: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class LifecycleResult:
    """The run: its steps, the monitoring batch by batch, and whether each outcome is the one expected."""

    target: str
    steps: list[Step] = field(default_factory=list)
    monitoring: list[dict[str, Any]] = field(default_factory=list)
    expectations: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    #: kernels the run's kernel pool started, and how often one was handed on to the next notebook
    kernels: dict[str, int] = field(default_factory=dict)
    report: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps) and all(e["ok"] for e in self.expectations)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "ok": self.ok,
            "seconds": round(self.seconds, 1),
            "cpu_seconds": round(self.cpu_seconds, 1),
            "kernels": self.kernels,
            "steps": [asdict(s) for s in self.steps],
            "monitoring": self.monitoring,
            "expectations": self.expectations,
            "report": self.report,
            "notes": self.notes,
        }

    def lines(self) -> list[str]:
        out = [f"mlops lifecycle on target {self.target}: {'OK' if self.ok else 'FAILED'} in {self.seconds:.0f}s"
               f" ({self.cpu_seconds:.0f}s CPU)"]
        for s in self.steps:
            out.append(f"  {'ok ' if s.ok else 'BAD'} {s.name:11} {s.seconds:6.1f}s {s.cpu_seconds:6.1f}s CPU  {s.detail}")
        if self.kernels:
            out.append(f"  kernels: {self.kernels.get('started', 0)} started, "
                       f"{self.kernels.get('reused', 0)} times handed on to the next notebook")
        if self.monitoring:
            out.append("  monitoring, batch by batch:")
            for m in self.monitoring:
                out.append(f"    batch {m['batch']:>3}: {m['summary']}")
        out.append("  expectations:")
        for e in self.expectations:
            out.append(
                f"    {'ok ' if e['ok'] else 'BAD'} {e['what']}" + (f" ({e['detail']})" if e.get("detail") else "")
            )
        if self.report:
            out.append(f"  report: {self.report}")
        out.extend(f"  note: {n}" for n in self.notes)
        return out



class Stopped(Exception):
    """A step did not behave: the run stops after it (the step is recorded)."""


class StepRunner:
    """Runs the steps of one lifecycle run into its result."""

    def __init__(self, ctx: Context, result: LifecycleResult):
        self.ctx, self.result = ctx, result

    def step(self, name: str, fn: Callable[[], tuple[bool, str, dict[str, Any]]]) -> dict[str, Any]:
        """Run ``fn`` (``(ok, detail, data)``; an MlopsError is a step that did not behave) as step
        ``name``; its data, or Stopped when it did not behave."""
        self.ctx.console.progress(f"== {name}")
        started, cpu = time.perf_counter(), cpu_seconds()
        try:
            ok, detail, data = fn()
        except MlopsError as exc:
            ok, detail, data = False, exc.one_line(), {}
        self.result.steps.append(Step(name, ok, time.perf_counter() - started, detail, data=data,
                                      cpu_seconds=cpu_seconds() - cpu))
        if not ok:
            raise Stopped(name)
        return data


def cpu_seconds() -> float:
    """User+sys seconds of this process, of the children it waited for and of the kernels alive."""
    import resource

    from ..kernel.pool import live_kernel_cpu

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime + live_kernel_cpu()
