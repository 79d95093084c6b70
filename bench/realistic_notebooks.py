"""A generated tree shaped like real teams' Databricks notebooks (for bench_lint.py).

    from realistic_notebooks import generate
    notebooks_dir, plain_dir = generate(out, n=1000)

Unlike bench_lint's uniform notebooks these vary the way a team's folder does: long
cells behind a block of many imports, `%pip` and `%sh` cells, `%run` of shared
notebooks, IPython shell escapes inside Python cells (`!pip install`, `files = !ls`,
continued `!deepspeed ... \\` lines), markdown, `%sql` cells, DBTITLE lines, widgets,
some files with the older dated export header, SQL and Scala notebooks (some with
`%python` cells), plain helper modules, and .ipynb files with committed outputs
(streams, HTML tables, a few PNG images) and execution counts. Everything is written
by this generator from templates and a seeded random generator; nothing is copied.

``plain_dir`` holds the same Python code as plain .py files (escape lines left out,
the names a `%run` brings in imported), which is what plain ruff is timed on.
"""

from __future__ import annotations

import base64
import json
import random
import shutil
from pathlib import Path

#: what the cells below use, and imports a notebook often carries without using them
USED = ["import json", "import logging", "import dataclasses", "from datetime import timedelta",
        "from functools import reduce", "from pyspark.sql import functions as F", "from pyspark.sql.window import Window",
        "import numpy as np", "import pandas as pd", "from delta.tables import DeltaTable"]
TRAINING = ["import mlflow", "from mlflow.tracking import MlflowClient",
            "from sklearn.model_selection import train_test_split",
            "from sklearn.ensemble import GradientBoostingRegressor",
            "from sklearn.metrics import mean_absolute_error, mean_squared_error"]
SPARE = ["import os", "import sys", "import re", "import math", "import time", "import itertools", "import uuid",
         "from pyspark.sql import types as T", "from typing import Any, Iterable", "from collections import Counter"]
WORDS = ["orders", "customers", "sessions", "events", "invoices", "shipments", "sensors", "claims", "visits",
         "payments", "devices", "tickets", "stores", "products", "accounts", "routes"]


def _imports(rng: random.Random, training: bool) -> list[str]:
    lines = USED + (TRAINING if training else []) + rng.sample(SPARE, rng.choice([0, 0, 1, 1, 2, 3]))
    rng.shuffle(lines)
    return sorted(lines, key=lambda ln: ln.startswith("from"))


def _function(rng: random.Random, k: int, word: str) -> list[str]:
    n = rng.randint(3, 9)
    body = [
        f"def build_{word}_{k}(df, run_date, factor: float = {k + 1}.5, columns=None):",
        f'    """Derive the {word} features for one day ({k}).',
        "",
        "    The frame is filtered to the run date, enriched and aggregated per key.",
        '    """',
        "    columns = columns or ['id', 'day', 'amount']",
        "    out = df.where(F.col('day') == run_date).select(*columns)",
    ]
    for j in range(n):
        body.append(f"    out = out.withColumn('{word}_{j}', F.col('amount') * factor + {j})")
        if j % 3 == 0:
            body.append(f"    if factor > {j}:")
            body.append(f"        out = out.withColumn('flag_{j}', F.lit(True))")
    body += [
        "    window = Window.partitionBy('id').orderBy('day')",
        "    out = out.withColumn('rank', F.row_number().over(window))",
        "    summary = {c: out.agg(F.sum(c)).first()[0] for c in out.columns if c.startswith('" + word + "')}",
        "    logging.getLogger(__name__).info('built %s columns', len(summary))",
        "    return out",
    ]
    return body


def _class(rng: random.Random, word: str) -> list[str]:
    return [
        "@dataclasses.dataclass",
        f"class {word.title()}Config:",
        f'    table: str = "main.analytics.{word}"',
        f"    days: int = {rng.randint(7, 90)}",
        "    threshold: float = 0.25",
        "",
        "    def window(self, today):",
        "        start = today - timedelta(days=self.days)",
        "        return start, today",
        "",
        "    def describe(self) -> str:",
        '        return f"{self.table} over {self.days} days (threshold {self.threshold})"',
    ]


def _pandas(rng: random.Random, word: str) -> list[str]:
    lines = [
        f"pdf = spark.table('main.analytics.{word}').limit({rng.randint(1000, 50000)}).toPandas()",
        "pdf['day'] = pd.to_datetime(pdf['day'])",
        "by_day = (",
        "    pdf.groupby('day')",
        "    .agg(total=('amount', 'sum'), mean=('amount', 'mean'), n=('id', 'nunique'))",
        "    .reset_index()",
        "    .sort_values('day')",
        ")",
        "by_day['rolling'] = by_day['total'].rolling(7, min_periods=1).mean()",
        "outliers = by_day[np.abs(by_day['total'] - by_day['rolling']) > 3 * by_day['total'].std()]",
        "print(f'{len(outliers)} outlier days out of {len(by_day)}')",
        "display(by_day.tail(30))",
    ]
    if rng.random() < 0.5:
        lines += [
            "for name, part in pdf.groupby('id'):",
            "    if len(part) < 5:",
            "        continue",
            "    stats = part['amount'].describe().to_dict()",
            "    if stats['std'] > stats['mean']:",
            "        print(name, round(stats['std'] / max(stats['mean'], 1e-9), 2))",
        ]
    return lines


def _training(rng: random.Random, word: str) -> list[str]:
    return [
        "features = [c for c in pdf.columns if c not in ('id', 'day', 'label')]",
        "x_train, x_test, y_train, y_test = train_test_split(pdf[features], pdf['amount'], test_size=0.2,",
        f"                                                    random_state={rng.randint(1, 99)})",
        "with mlflow.start_run(run_name='" + word + "') as run:",
        f"    model = GradientBoostingRegressor(n_estimators={rng.randint(50, 400)}, max_depth={rng.randint(2, 8)})",
        "    model.fit(x_train, y_train)",
        "    predictions = model.predict(x_test)",
        "    mlflow.log_metric('mae', mean_absolute_error(y_test, predictions))",
        "    mlflow.log_metric('rmse', mean_squared_error(y_test, predictions) ** 0.5)",
        "    mlflow.sklearn.log_model(model, 'model')",
        "client = MlflowClient()",
        f"client.set_registered_model_alias('{word}_model', 'challenger', run.info.run_id)",
    ]


def _writer(rng: random.Random, word: str) -> list[str]:
    return [
        f"target = 'main.analytics.{word}_features'",
        "try:",
        "    table = DeltaTable.forName(spark, target)",
        "    (table.alias('t').merge(result.alias('s'), 't.id = s.id AND t.day = s.day')",
        "        .whenMatchedUpdateAll().whenNotMatchedInsertAll().execute())",
        "except Exception as exc:  # first run: the table does not exist yet",
        "    print('creating', target, type(exc).__name__)",
        "    result.write.format('delta').mode('overwrite').saveAsTable(target)",
        "dbutils.notebook.exit(json.dumps({'rows': result.count(), 'table': target}))",
    ]


def python_cells(rng: random.Random, i: int) -> tuple[list[str], list[str]]:
    """(cells as the notebook has them, the same cells as plain Python)."""
    word = rng.choice(WORDS)
    training = rng.random() < 0.4
    cells: list[list[str]] = [_imports(rng, training)]
    cells.append([f'dbutils.widgets.text("run_date", "2024-02-{1 + i % 28:02d}")',
                  'run_date = dbutils.widgets.get("run_date")', f"config = {word.title()}Config()"])
    cells.insert(1, _class(rng, word))
    for k in range(rng.randint(2, 6)):
        cells.append(_function(rng, k, word))
    cells.append(["frames = [build_" + word + f"_{k}(spark.table(config.table), run_date) for k in range(1)]",
                  "result = reduce(lambda a, b: a.unionByName(b), frames)", "display(result.limit(20))"])
    cells.append(_pandas(rng, word))
    if training:
        cells.append(_training(rng, word))
    cells.append(_writer(rng, word))
    if rng.random() < 0.2:
        cells.append(["leftover = helper_that_was_renamed(result)  # a real finding"])
    with_escapes = [list(c) for c in cells]
    if rng.random() < 0.35:
        with_escapes[0] = ["!pip install -q great-expectations==0.18.8 holidays"] + with_escapes[0]
    if rng.random() < 0.15:
        with_escapes.insert(2, ["!deepspeed --num_gpus 2 train.py \\", "    --epochs 3 \\", "    --lr 3e-5",
                                "files = !ls /dbfs/tmp/checkpoints", "print(files)"])
    plain = [[ln for ln in c if not _escape(ln)] for c in with_escapes]
    plain = [c if any(ln.strip() for ln in c) else ["pass"] for c in plain]
    return ["\n".join(c) for c in with_escapes], ["\n".join(c) for c in plain]


def _escape(line: str) -> bool:
    s = line.strip()
    return s.startswith(("!", "%", "--epochs", "--lr")) or "= !" in s


MARKDOWN = ("%md\n# {title}\n\nThis notebook builds the **{word}** features for the daily run.\n\n"
            "* reads `main.analytics.{word}`\n* writes `main.analytics.{word}_features`\n\nOwner: data team.")
SQL_CELL = "%sql\nSELECT id, day, sum(amount) AS total\nFROM main.analytics.{word}\nWHERE day >= '2024-01-01'\nGROUP BY 1, 2"


def _magic(text: str, comment: str = "#") -> str:
    return "\n".join(f"{comment} MAGIC {ln}" if ln else f"{comment} MAGIC" for ln in text.split("\n"))


def write_source(path: Path, rng: random.Random, cells: list[str], word: str, old_header: bool) -> None:
    parts = [_magic(MARKDOWN.format(title=f"{word.title()} features", word=word)),
             _magic("%pip install -q great-expectations==0.18.8 holidays==0.40"),
             _magic("%run ../shared/common")]
    spaced = rng.random() < 0.1
    for n, cell in enumerate(cells):
        if n == 3:
            parts.append(_magic(SQL_CELL.format(word=word)))
        if n == 4:
            parts.append(_magic("%sh\nls -la /dbfs/tmp\nif [ -d /dbfs/tmp/x ]; then rm -rf /dbfs/tmp/x; fi"))
        if n == 5 and spaced:
            parts.append(_magic(" %md\n## Writing"))  # '# MAGIC  %md', as some exports have it
        title = f"# DBTITLE 1,Step {n}: {word}\n" if n % 3 == 1 else ""
        parts.append(title + cell)
    header = "# Databricks notebook source"
    if old_header:
        header += " exported at Tue, 05 Mar 2024 09:12:44 UTC"
    path.write_text(header + "\n" + "\n\n# COMMAND ----------\n\n".join(parts) + "\n")


def _outputs(rng: random.Random, n: int) -> list[dict]:
    kind = rng.random()
    if kind < 0.4:
        return [{"name": "stdout", "output_type": "stream", "text": [f"processed {n * 1000 + k} rows\n" for k in range(5)]}]
    if kind < 0.75:
        rows = "".join(f"<tr><td>{k}</td><td>{k * 3.5:.2f}</td><td>2024-02-{1 + k % 28:02d}</td></tr>" for k in range(30))
        return [{"data": {"text/html": [f"<table><thead><tr><th>id</th><th>total</th><th>day</th></tr></thead>{rows}</table>"],
                          "text/plain": ["   id  total  day\n"] * 10},
                 "execution_count": n, "metadata": {}, "output_type": "execute_result"}]
    if kind < 0.85:
        png = base64.b64encode(rng.randbytes(24000)).decode()
        return [{"data": {"image/png": png, "text/plain": ["<Figure size 640x480 with 1 Axes>"]},
                 "metadata": {}, "output_type": "display_data"}]
    return []


def write_ipynb(path: Path, rng: random.Random, cells: list[str], word: str) -> None:
    with_outputs = rng.random() < 0.6

    def code(src: str, n: int, title: str = "") -> dict:
        outputs = _outputs(rng, n) if with_outputs else []
        return {"cell_type": "code", "execution_count": n if with_outputs else None,
                "metadata": {"application/vnd.databricks.v1+cell": {"title": title, "showTitle": bool(title),
                                                                       "nuid": f"{path.stem}-{n}"}},
                "outputs": outputs, "source": src.splitlines(keepends=True)}

    doc_cells = [{"cell_type": "markdown", "metadata": {},
                  "source": MARKDOWN.format(title=word.title(), word=word)[4:].splitlines(keepends=True)},
                 code("%pip install -q great-expectations==0.18.8", 1), code("%run ../shared/common", 2)]
    for n, cell in enumerate(cells):
        if n == 3:
            doc_cells.append(code(SQL_CELL.format(word=word), 10 + n))
        if n == 4:
            doc_cells.append(code("%sh\nnvidia-smi || true\ndf -h /dbfs", 20 + n))
        doc_cells.append(code(cell, 30 + n, f"Step {n}" if n % 3 == 1 else ""))
    doc = {"cells": doc_cells,
           "metadata": {"application/vnd.databricks.v1+notebook": {"language": "python", "notebookName": path.stem},
                        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                        "language_info": {"name": "python", "version": "3.11.4"}},
           "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(doc, indent=1) + "\n")


def write_sql(path: Path, rng: random.Random, word: str) -> str | None:
    parts = [_magic(MARKDOWN.format(title=f"{word} report", word=word), "--")]
    python = None
    for k in range(rng.randint(4, 12)):
        parts.append(f"-- DBTITLE 1,Query {k}\nSELECT id, day, sum(amount) AS total_{k}, count(*) AS n\n"
                     f"FROM main.analytics.{word}\nWHERE day >= date_sub(current_date(), {7 * (k + 1)})\n"
                     "GROUP BY id, day\nORDER BY total DESC\nLIMIT 100")
        if k == 2 and rng.random() < 0.5:
            python = f"import json\nrows = spark.sql('SELECT count(*) FROM main.analytics.{word}').first()[0]\nprint(json.dumps({{'rows': rows}}))"
            parts.append(_magic("%python\n" + python, "--"))
    path.write_text("-- Databricks notebook source\n" + "\n\n-- COMMAND ----------\n\n".join(parts) + "\n")
    return python


def write_scala(path: Path, rng: random.Random, word: str) -> None:
    parts = [_magic(f"%md\n# {word} in Scala", "//")]
    for k in range(rng.randint(3, 8)):
        parts.append(f'val df{k} = spark.table("main.analytics.{word}")\n  .filter($"day" > "2024-01-0{1 + k % 9}")\n'
                     f'  .groupBy("id").count()\ndisplay(df{k})')
    path.write_text("// Databricks notebook source\n" + "\n\n// COMMAND ----------\n\n".join(parts) + "\n")


COMMON = ("CATALOG = 'main'\nSCHEMA = 'analytics'\n\n\ndef table_name(name):\n    return f'{CATALOG}.{SCHEMA}.{name}'\n\n\n"
          "def log_rows(df, label):\n    print(label, df.count())\n")
HELPER = ("\"\"\"Shared helpers.\"\"\"\n\nimport logging\nimport re\n\nLOG = logging.getLogger(__name__)\n\n\n"
          "def clean_name(name: str) -> str:\n    return re.sub(r'[^a-z0-9_]+', '_', name.lower()).strip('_')\n\n\n"
          "def chunks(items, size):\n    for start in range(0, len(items), size):\n        yield items[start:start + size]\n")


def generate(out: Path, n: int) -> tuple[Path, Path]:
    if out.exists():
        shutil.rmtree(out)
    notebooks, plain = out / "notebooks", out / "plain"
    for d in (notebooks / "shared", notebooks / "lib", plain / "shared", plain / "lib"):
        d.mkdir(parents=True)
    (notebooks / "shared" / "common.py").write_text("# Databricks notebook source\n" + COMMON)
    (plain / "shared" / "common.py").write_text(COMMON)
    rng = random.Random(7)
    prelude = "from shared.common import CATALOG, SCHEMA, log_rows, table_name  # noqa: F401\n"
    for i in range(n):
        team = notebooks / f"team_{i % 8}"
        team_plain = plain / f"team_{i % 8}"
        team.mkdir(exist_ok=True)
        team_plain.mkdir(exist_ok=True)
        word = rng.choice(WORDS)
        roll = rng.random()
        stem = f"{i:04d}_{word}"
        if roll < 0.10:
            python = write_sql(team / f"{stem}.sql", rng, word)
            if python:
                (team_plain / f"{stem}.py").write_text(python + "\n")
            continue
        if roll < 0.15:
            write_scala(team / f"{stem}.scala", rng, word)
            continue
        if roll < 0.22:
            (notebooks / "lib" / f"{stem}.py").write_text(HELPER)
            (plain / "lib" / f"{stem}.py").write_text(HELPER)
            continue
        cells, plain_cells = python_cells(rng, i)
        (team_plain / f"{stem}.py").write_text(prelude + "\n\n".join(plain_cells) + "\n")
        if roll < 0.60:
            write_source(team / f"{stem}.py", rng, cells, word, old_header=rng.random() < 0.1)
        else:
            write_ipynb(team / f"{stem}.ipynb", rng, cells, word)
    return notebooks, plain
