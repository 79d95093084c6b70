"""`mlops report`: HTML and PNG from the metrics and retrain tables."""

from __future__ import annotations

import pandas as pd

from devops_mlops.testing import project as sandbox
from devops_mlops.ops import tables as T
from devops_mlops.ops.report import write_report


def test_report_marks_thresholds_and_retrains(tmp_path):
    from devops_mlops.context import Context

    folder = sandbox.make_project(tmp_path / "proj", git=False)
    ctx = Context.create(config_path=folder / "mlops.yaml")
    empty = write_report(ctx)
    assert empty.windows == 0 and empty.notes
    rows = []
    for i, value in enumerate([0.05, 0.07, 0.4, 0.45, 0.06]):
        end = f"2024-02-{i + 10:02d}"
        rows.append(
            {
                "evaluated_at": pd.Timestamp.now(tz="UTC"),
                "model_name": "toll-demand",
                "model_version": 1 if i < 4 else 2,
                "window_start": end,
                "window_end": end,
                "metric": "mape",
                "value": value,
                "threshold_min": float("nan"),
                "threshold_max": 0.15,
                "status": "violation" if value > 0.15 else "ok",
                "run_id": "",
                "batch_id": i,
            }
        )
    ctx.tables.append(T.METRICS, pd.DataFrame(rows))
    ctx.tables.append(
        T.RETRAIN_ATTEMPTS,
        pd.DataFrame(
            [
                {
                    "loop_id": "l",
                    "seq": 1,
                    "at": pd.Timestamp.now(tz="UTC"),
                    "model_name": "toll-demand",
                    "base_version": 1,
                    "window_end": "2024-02-13",
                    "eval_batch": 3,
                    "attempt": 1,
                    "event": "promoted",
                    "outcome": "",
                    "run_id": "",
                    "version": 2,
                    "metrics": "{}",
                    "improved": "",
                    "gate_passed": "",
                    "detail": "",
                    "train_batches": "",
                }
            ]
        ),
    )
    result = write_report(ctx)
    assert result.windows == 5 and result.retrains == 1 and result.metrics == ["mape", "r2"]
    png = (folder / ".mlops/report/metrics.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    page = (folder / ".mlops/report/index.html").read_text()
    assert 'src="metrics.png"' in page and "violation" in page and "promoted" in page
