"""``dbutils`` in a local kernel: task values shared by the tasks of a local job run (a JSON file),
notebook exit and run, secrets from environment variables, and the widgets and fs of their modules.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections import namedtuple
from pathlib import Path

from . import state
from .errors import NotebookExit, SecretNotFound, WorkflowException
from .fs import Fs
from .widgets import Widgets


def _file_lock(path: Path):
    """The toolkit's file lock (devops_mlops/files/lock.py), loaded from its file: like this shim, it
    must work in a kernel whose interpreter does not have the toolkit installed."""
    lock = sys.modules.get("_mlops_lock")
    if lock is None:
        import importlib.util

        spec = importlib.util.spec_from_file_location(
            "_mlops_lock", Path(__file__).resolve().parents[2] / "files" / "lock.py")
        lock = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(lock)
        sys.modules["_mlops_lock"] = lock
    return lock.file_lock(path)


def _locked_update(path: Path, update) -> None:
    """Change the JSON document at ``path`` under its lock (tasks of a job run at the same time)."""
    with _file_lock(Path(str(path) + ".lock")):
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() and path.stat().st_size else {}
        update(data)
        state.write_json(path, data)


class TaskValues:
    """dbutils.jobs.taskValues across the tasks of a locally run job (a shared JSON file)."""

    def set(self, key, value):
        json.dumps(value)  # Databricks requires JSON-serializable values
        mine = state.state_file("task_values.json")
        own = json.loads(mine.read_text(encoding="utf-8")) if mine.exists() else {}
        own[key] = value
        state.write_json(mine, own)
        shared, task = state.cfg.get("task_values_file"), state.cfg.get("task_key")
        if shared and task:
            _locked_update(Path(shared), lambda d: d.setdefault(task, {}).__setitem__(key, value))

    def get(self, taskKey, key, default=state.MISSING, debugValue=state.MISSING):
        shared = state.cfg.get("task_values_file")
        if not shared:
            if debugValue is state.MISSING:
                raise TypeError("taskValues.get outside a job needs debugValue (run the notebook as a job task "
                                "or pass debugValue=...)")
            return debugValue
        path = Path(shared)
        data = {}
        if path.exists() and path.stat().st_size:
            data = json.loads(path.read_text(encoding="utf-8"))
        if key in data.get(taskKey, {}):
            return data[taskKey][key]
        if default is not state.MISSING:
            return default
        raise ValueError(f"no task value {key!r} set by task {taskKey!r} (and no default)")


class Jobs:
    """dbutils.jobs."""

    def __init__(self):
        self.taskValues = TaskValues()


class NotebookUtils:
    """dbutils.notebook."""

    def exit(self, value=""):
        """End the notebook successfully, with ``value`` as its exit value."""
        state.write_json(state.state_file("exit.json"), {"value": "" if value is None else str(value)})
        raise NotebookExit(str(value))

    def run(self, path, timeout_seconds=0, arguments=None):
        """Run another notebook in its own fresh kernel; return its exit value."""
        base = Path(state.cfg["notebook"]).parent
        target = Path(path) if os.path.isabs(path) else base / path
        if not target.is_file():
            for ext in (".py", ".ipynb", ".sql", ".scala", ".r"):
                if target.with_name(target.name + ext).is_file():
                    target = target.with_name(target.name + ext)
                    break
        request = {
            "path": str(target),
            "params": {str(k): str(v) for k, v in (arguments or {}).items()},
            "timeout": timeout_seconds or None,
            "task_key": state.cfg.get("task_key"),
            "task_values_file": state.cfg.get("task_values_file"),
        }
        import subprocess  # only a notebook that runs another one needs it

        proc = subprocess.run(
            [sys.executable, "-m", "devops_mlops.kernel.child"],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            reply = json.loads(proc.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            raise WorkflowException(f"notebook {path} could not run: {proc.stderr.strip()[-2000:]}") from None
        if reply.get("status") != "passed":
            raise WorkflowException(f"notebook {path} {reply.get('status')}: {reply.get('error')}")
        return reply.get("exit_value") or ""

    def getContext(self):  # pragma: no cover - rarely used
        return {"notebookPath": state.cfg.get("notebook"), "local": True}


def secret_env_name(scope: str, key: str) -> str:
    """The environment variable of a secret: ``MLOPS_SECRET_<SCOPE>__<KEY>``, upper case, other characters ``_``."""
    def norm(s):
        return re.sub(r"[^A-Z0-9]", "_", str(s).upper())

    return f"MLOPS_SECRET_{norm(scope)}__{norm(key)}"


SecretMetadata = namedtuple("SecretMetadata", ["key"])
SecretScope = namedtuple("SecretScope", ["name"])


class Secrets:
    """dbutils.secrets from environment variables MLOPS_SECRET_<SCOPE>__<KEY>."""

    def get(self, scope, key):
        name = secret_env_name(scope, key)
        value = os.environ.get(name)
        if value is None:
            raise SecretNotFound(f"secret {key!r} in scope {scope!r} not found: set the environment variable {name}")
        if len(value) >= 1:
            state.secrets_seen.add(value)
        return value

    def getBytes(self, scope, key):
        return self.get(scope, key).encode("utf-8")

    def list(self, scope):
        prefix = secret_env_name(scope, "")
        return [SecretMetadata(k[len(prefix):].lower()) for k in os.environ if k.startswith(prefix)]

    def listScopes(self):
        scopes = {k[len("MLOPS_SECRET_"):].split("__", 1)[0].lower() for k in os.environ
                  if k.startswith("MLOPS_SECRET_") and "__" in k}
        return [SecretScope(s) for s in sorted(scopes)]


class DBUtils:
    """The notebook global ``dbutils``."""

    def __init__(self):
        self.widgets = Widgets()
        self.jobs = Jobs()
        self.notebook = NotebookUtils()
        self.secrets = Secrets()
        self.fs = Fs()

    def help(self, *a):
        print("dbutils (local emulation by mlops): fs, jobs.taskValues, notebook, secrets, widgets")
