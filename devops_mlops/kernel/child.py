"""``python -m devops_mlops.kernel.child``: dbutils.notebook.run's helper process.

Reads a JSON request on stdin ({path, params, timeout, task_key, task_values_file}),
runs the notebook in a fresh kernel and prints the result as one JSON line.
"""

from __future__ import annotations

import json
import sys


def main() -> int:
    from .runner import run_notebook

    req = json.loads(sys.stdin.read())
    result = run_notebook(
        req["path"],
        params=req.get("params"),
        timeout=req.get("timeout"),
        task_key=req.get("task_key"),
        task_values_file=req.get("task_values_file"),
    )
    doc = {"status": result.status, "exit_value": result.exit_value, "error": result.error,
           "cell": result.cell, "line": result.line}
    sys.stdout.write("\n" + json.dumps(doc) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
