"""Benchmark `mlops lint` against plain ruff (the limit) and nbqa ruff (the peer).

    .venv/bin/python bench/bench_lint.py [--notebooks 1000] [--repeat 5] [--tree uniform|teams|both]

Generates two trees of N notebooks:

* ``uniform``: half Databricks source .py, half .ipynb, all alike (markdown, widgets,
  %run, %sql and %sh magics, titles, functions);
* ``teams``: shaped like real teams' folders (bench/realistic_notebooks.py): long cells
  behind many imports, %pip, %sh and %run cells, shell escapes in Python cells, SQL and
  Scala notebooks, plain helper modules, .ipynb files with committed outputs;

then times, best of --repeat runs each (the two sides alternate, in the same run), each
as a separate process:

* `mlops lint` over all of a tree's notebooks (cold: nothing is cached between runs);
* `ruff check` over the same Python code written out as plain .py files with the same
  rules (the limit, as this benchmark always measured it), and the same with the
  Databricks globals known as mlops lint runs it (ruff then renders far fewer findings, so
  this second limit is much lower);
* `nbqa ruff` over the .ipynb half of the uniform tree (the peer), when installed;
* `mlops --help` against `python -c pass` (start-up cost).

The package's bytecode is compiled first (as an installed package has it; the
environment may set PYTHONDONTWRITEBYTECODE, which would make every run compile every
module again); ``--no-bytecode`` times without it. CPU seconds (user + system, both
processes) are printed next to the wall times, since the machine may be shared.

Prints the ratios. Goals: lint within 1.5x of plain ruff, at least 10x faster than nbqa;
`mlops --help` under 0.25 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(HERE))
GLOBALS = ("spark", "sc", "dbutils", "display", "displayHTML", "sqlContext", "table", "sql", "getArgument")
RULES = ["--isolated", "--no-cache", "--select", "E4,E7,E9,F"]
#: the same rules with the Databricks globals known, as mlops lint runs them: ruff then has far
#: fewer findings to render, so this limit is much lower than the plain one
WITH_GLOBALS = RULES + ["--config", "builtins = [" + ", ".join(f'"{n}"' for n in GLOBALS) + "]"]


def python_cells(rng: random.Random, i: int) -> list[str]:
    cells = [
        "import datetime as dt\nimport json\n\nfrom pyspark.sql import functions as F",
        f'dbutils.widgets.text("run_date", "2024-01-{1 + i % 28:02d}")\nrun_date = getArgument("run_date")',
    ]
    for k in range(rng.randint(2, 5)):
        cells.append(
            f"def transform_{k}(df, factor={k + 1}):\n"
            f"    \"\"\"Scale the traffic column by a factor.\"\"\"\n"
            f"    out = df.withColumn('vehicles_{k}', F.col('vehicles') * factor)\n"
            f"    return out.where(F.col('day') <= run_date)\n\n\n"
            f"frame_{k} = transform_{k}(spark.table(table_name('raw_{k}')))\n"
            f"display(frame_{k}.limit({10 + k}))\n"
            f"summary_{k} = json.dumps({{'rows': frame_{k}.count(), 'day': str(dt.date.today())}})"
        )
    if rng.random() < 0.3:
        cells.append("unused_value = undefined_helper()  # a real finding")
    return cells


def write_source(path: Path, cells: list[str]) -> None:
    parts = [
        "# MAGIC %md\n# MAGIC # Toll traffic features\n# MAGIC Built nightly.",
        "# MAGIC %run ./common",
    ]
    for n, c in enumerate(cells):
        if n == 2:
            parts.append("# MAGIC %sql\n# MAGIC SELECT plaza_id, count(*)\n# MAGIC FROM main.toll.raw GROUP BY 1")
        title = f"# DBTITLE 1,Step {n}\n" if n % 2 else ""
        parts.append(title + c)
    parts.append("# MAGIC %sh\n# MAGIC ls /dbfs/tmp")
    path.write_text("# Databricks notebook source\n" + "\n\n# COMMAND ----------\n\n".join(parts) + "\n")


def write_ipynb(path: Path, cells: list[str]) -> None:
    def code(src: str, title: str = "") -> dict:
        return {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {"application/vnd.databricks.v1+cell": {"title": title, "showTitle": bool(title)}},
            "outputs": [],
            "source": src.splitlines(keepends=True),
        }

    doc_cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Toll traffic features\n", "Built nightly."]},
        code("%run ./common"),
    ]
    for n, c in enumerate(cells):
        if n == 2:
            doc_cells.append(code("%sql\nSELECT plaza_id, count(*)\nFROM main.toll.raw GROUP BY 1"))
        doc_cells.append(code(c, f"Step {n}" if n % 2 else ""))
    doc = {
        "cells": doc_cells,
        "metadata": {
            "application/vnd.databricks.v1+notebook": {"language": "python", "notebookName": path.stem},
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(doc, indent=1) + "\n")


def generate(out: Path, n: int) -> tuple[Path, Path, Path]:
    if out.exists():
        shutil.rmtree(out)
    notebooks, plain, ipynb_only = out / "notebooks", out / "plain", out / "ipynb"
    for d in (notebooks, plain, ipynb_only):
        d.mkdir(parents=True)
    common = "# Databricks notebook source\nCATALOG = 'main'\n\n\ndef table_name(name):\n    return f'{CATALOG}.toll.{name}'\n"
    for d in (notebooks, ipynb_only):
        (d / "common.py").write_text(common)
    (plain / "common.py").write_text(common)
    rng = random.Random(42)
    for i in range(n):
        cells = python_cells(rng, i)
        prelude = "from common import table_name\n\n\n"
        (plain / f"nb_{i:04d}.py").write_text(prelude + "\n\n\n".join(c for c in cells) + "\n")
        if i % 2:
            write_ipynb(notebooks / f"nb_{i:04d}.ipynb", cells)
            write_ipynb(ipynb_only / f"nb_{i:04d}.ipynb", cells)
        else:
            write_source(notebooks / f"nb_{i:04d}.py", cells)
    (out / "mlops.yaml").write_text("project: bench\nmodel: {name: m}\n")
    return notebooks, plain, ipynb_only


def timed(cmd: list[str], cwd: Path, ok=(0, 1)) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and its children) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-500:]}")
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def best_runs(cmds: list[list[str]], repeat: int, cwd: Path) -> list[tuple[float, float]]:
    """Best of ``repeat`` (wall, CPU) for each command, the commands run in turn each round."""
    runs: list[list[tuple[float, float]]] = [[] for _ in cmds]
    for _ in range(repeat):
        for cmd, got in zip(cmds, runs):
            got.append(timed(cmd, cwd))
    return [(min(r[0] for r in got), min(r[1] for r in got)) for got in runs]


def best_of(cmd: list[str], repeat: int, cwd: Path, ok=(0, 1)) -> float:
    return min(timed(cmd, cwd, ok)[0] for _ in range(repeat))


def compare(name: str, out: Path, notebooks: Path, plain: Path, repeat: int, ruff: list[str]) -> dict:
    mlops = [str(BIN / "mlops"), "lint", str(notebooks)]
    (t_lint, c_lint), (t_ruff, c_ruff), (t_glob, c_glob) = best_runs(
        [mlops, ruff + ["check", *RULES, str(plain)], ruff + ["check", *WITH_GLOBALS, str(plain)]], repeat, out)
    return {f"{name}_mlops_lint_s": round(t_lint, 3), f"{name}_ruff_plain_s": round(t_ruff, 3),
            f"{name}_lint_vs_ruff": round(t_lint / t_ruff, 2),
            f"{name}_ruff_with_globals_s": round(t_glob, 3), f"{name}_lint_vs_ruff_with_globals": round(t_lint / t_glob, 2),
            f"{name}_cpu_s": {"mlops_lint": round(c_lint, 3), "ruff_plain": round(c_ruff, 3),
                              "ruff_with_globals": round(c_glob, 3)}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notebooks", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--tree", choices=["uniform", "teams", "both"], default="both")
    parser.add_argument("--no-bytecode", action="store_true", help="do not compile the package's bytecode first")
    parser.add_argument("--out", type=Path, default=HERE / "out" / "lint")
    args = parser.parse_args()
    if not args.no_bytecode:
        import compileall
        import devops_mlops

        compileall.compile_dir(Path(devops_mlops.__file__).parent, quiet=1)
    from ruff import find_ruff_bin

    ruff = [find_ruff_bin()]
    results: dict = {"notebooks": args.notebooks, "repeat": args.repeat, "bytecode": not args.no_bytecode,
                     "load_average_1m": round(os.getloadavg()[0], 2)}
    uniform = args.out / "uniform"
    notebooks, plain, ipynb_only = generate(uniform, args.notebooks)
    if args.tree in ("uniform", "both"):
        results.update(compare("uniform", uniform, notebooks, plain, args.repeat, ruff))
    if args.tree in ("teams", "both"):
        import realistic_notebooks

        teams = args.out / "teams"
        t_notebooks, t_plain = realistic_notebooks.generate(teams, args.notebooks)
        (teams / "mlops.yaml").write_text("project: bench\nmodel: {name: m}\n")
        results.update(compare("teams", teams, t_notebooks, t_plain, args.repeat, ruff))
    nbqa = BIN / "nbqa"
    if nbqa.exists() and args.tree in ("uniform", "both"):
        env = dict(os.environ, PATH=str(BIN) + os.pathsep + os.environ.get("PATH", ""))
        start = time.perf_counter()
        proc = subprocess.run([str(nbqa), "ruff", str(ipynb_only), *RULES], cwd=uniform, capture_output=True,
                              text=True, env=env)
        t_nbqa = time.perf_counter() - start
        if proc.returncode in (0, 1):
            results["nbqa_ruff_ipynb_half_s"] = round(t_nbqa, 3)
            results["nbqa_vs_lint"] = round(t_nbqa / results["uniform_mlops_lint_s"], 1)
        else:
            results["nbqa_error"] = proc.stderr[-300:]
    elif not nbqa.exists():
        results["nbqa"] = "not installed (pip install nbqa)"
    mlops = [str(BIN / "mlops")]
    t_help = best_of(mlops + ["--help"], max(args.repeat, 5), args.out, ok=(0,))
    t_pass = best_of([sys.executable, "-c", "pass"], max(args.repeat, 5), args.out, ok=(0,))
    results.update({"mlops_help_s": round(t_help, 3), "python_pass_s": round(t_pass, 3),
                    "help_over_python_s": round(t_help - t_pass, 3)})
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
