"""Clusters and libraries of the Databricks emulator: ``run-now`` executes notebook tasks for real.

Enable it with ``emu.execute(ClusterRuntime(...))``. Each run then goes, in a thread of its own,
through its tasks in dependency order, skipping those their ``run_if`` does not run
(:mod:`devops_mlops.core.jobgraph`); a run goes PENDING -> RUNNING -> TERMINATED with a result
state, and a repair runs its chosen tasks again the same way. A notebook task runs like this:

1. the emulated workspace (the notebooks and files `mlops sync` put there, not the checkout)
   and the volumes are written to a folder of the run (``<run>/Workspace/...``,
   ``<run>/Volumes/...``);
2. a fresh virtual environment is made for the task on top of a base "runtime": the libraries
   of this machine's environment (pandas, scikit-learn, mlflow, pyarrow, deltalake, ipykernel,
   pyspark when installed) *without* devops-mlops or anything installed in editable mode, and
   without this checkout or ``PYTHONPATH``;
3. the task's ``libraries`` are installed there: ``whl`` from the bytes stored in the emulated
   volume or workspace (a missing file fails the task, as a library installation would),
   ``pypi`` requirements from ``package_index`` (a folder of wheels standing in for PyPI); what
   they require must be in the base runtime or the index (a requirement found nowhere fails the
   library installation);
4. the notebook runs in a Jupyter kernel of that environment through the local runtime
   (:mod:`devops_mlops.kernel.runner`, ``dbutils`` emulated), cwd = its workspace folder,
   with ``DATABRICKS_HOST``/``DATABRICKS_TOKEN`` pointing at the emulator and ``env`` added
   (e.g. where MLflow is); ``/Volumes/`` and ``/Workspace/`` paths in its parameters are
   mapped to the run's folder;
5. ``runs/get-output`` returns its error, its traceback and its ``dbutils.notebook.exit`` value.

So a job that forgot a file or a dependency fails here as it would on Databricks. Tasks that
are not notebooks end as scripted (``emu.set_outcome``). Serverless notebook tasks get no job
libraries (their ``mlops_libraries`` parameter is installed by the notebook itself).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...core.jobgraph import RUN
from .runs import EmuRun, TaskOutcome

_EXT = {"PYTHON": ".py", "SQL": ".sql", "SCALA": ".scala", "R": ".r"}
_HIDDEN = ("devops_mlops", "devops-mlops", "__editable__", "_devops_mlops")
_BASE: dict[str, Path] = {}
_BASE_LOCK = threading.Lock()


def base_runtime() -> Path:
    """A folder of links to this environment's packages, minus the toolkit and editable installs
    (made once per process)."""
    with _BASE_LOCK:
        if "path" in _BASE and _BASE["path"].is_dir():
            return _BASE["path"]
        site = Path(sysconfig.get_paths()["purelib"])
        farm = Path(tempfile.mkdtemp(prefix="mlops-dbr-base-"))
        atexit.register(shutil.rmtree, farm, True)
        for entry in sorted(site.iterdir()):
            name = entry.name
            if name.startswith(_HIDDEN) or name.endswith(".pth") or name == "__pycache__":
                continue
            if name.endswith((".dist-info", ".egg-info")) and _editable(entry):
                continue
            (farm / name).symlink_to(entry)
        _BASE["path"] = farm
        return farm


def _editable(dist_info: Path) -> bool:
    direct = dist_info / "direct_url.json"
    try:
        return bool(json.loads(direct.read_text()).get("dir_info", {}).get("editable"))
    except (OSError, ValueError):
        return False


def make_venv(folder: Path) -> Path:
    """A fresh venv whose only packages are the base runtime's; returns its python."""
    # a venv made from inside a venv is based on the same base interpreter
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, capture_output=True)
    py = folder / "bin" / "python"
    site = folder / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    (site / "_dbr_base.pth").write_text(str(base_runtime()) + "\n", encoding="utf-8")
    return py


@dataclass
class ClusterRuntime:
    """What the emulated clusters are: the environment, package index and time limit of every task."""

    #: extra environment variables for every task's kernel (where MLflow is, ...)
    env: dict[str, str] = field(default_factory=dict)
    #: a folder of wheels that `pypi` libraries are resolved from (the emulated PyPI)
    package_index: str | None = None
    timeout: float = 900
    keep: bool = False
    #: run folders, for tests to look into
    run_dirs: list[Path] = field(default_factory=list)


class Executor:
    """Runs the tasks of the emulator's runs (see the module docstring)."""

    def __init__(self, emu: Any, runtime: ClusterRuntime):
        self.emu, self.rt = emu, runtime

    def start(self, run: EmuRun, keys: list[str]) -> None:
        """Run the tasks ``keys`` of ``run`` (all of them, or those a repair runs again)."""
        threading.Thread(target=self._run, args=(run, set(keys)), name=f"emu-run-{run.run_id}", daemon=True).start()

    # ------------------------------------------------------------ one run
    def _run(self, run: EmuRun, keys: set[str]) -> None:
        folder = Path(tempfile.mkdtemp(prefix=f"mlops-emu-run-{run.run_id}-"))
        self.rt.run_dirs.append(folder)
        try:
            with self.emu.lock:
                self._materialize(folder)
            values = folder / "task_values.json"
            for key in run.graph.order():
                if key not in keys:
                    continue
                task, tr = run.task(key), run.task_runs[key]
                with self.emu.lock:
                    verdict = "CANCELED" if run.canceled else run.graph.decide(key, run.outcomes())
                    if verdict != RUN:
                        tr.update(life_cycle_state="TERMINATED", result_state=verdict)
                        continue
                    tr["life_cycle_state"] = "RUNNING"
                if "notebook_task" in task:
                    outcome = self._task(folder, run, task, values)
                else:
                    outcome = self.emu._outcome(task)
                with self.emu.lock:
                    run.outputs[key] = outcome
                    tr.update(life_cycle_state="TERMINATED", result_state=outcome.result)
        except Exception as exc:  # a bug of the emulator: say so in the run
            with self.emu.lock:
                for tr in run.task_runs.values():
                    if tr["life_cycle_state"] != "TERMINATED":
                        tr.update(life_cycle_state="INTERNAL_ERROR", result_state="FAILED")
                run.outputs["__error__"] = TaskOutcome("FAILED", f"emulator error: {exc!r}")
        finally:
            if not self.rt.keep:
                shutil.rmtree(folder, ignore_errors=True)

    def _materialize(self, folder: Path) -> None:
        for path, obj in self.emu.objects.items():
            if obj.object_type == "NOTEBOOK":
                ext = ".ipynb" if obj.fmt == "JUPYTER" else _EXT.get(obj.language or "PYTHON", ".py")
                dest = folder / "Workspace" / (path.lstrip("/") + ext)
            elif obj.object_type == "FILE":
                dest = folder / "Workspace" / path.lstrip("/")
            else:
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(obj.content)
        for path, data in self.emu.volumes.files.items():
            dest = folder / path.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)

    def _local(self, folder: Path, path: str) -> Path | None:
        """A /Volumes/... or /Workspace/... (or bare workspace) path in the run's folder, if it exists."""
        if path.startswith("/Volumes/"):
            local = folder / path.lstrip("/")
        elif path.startswith("/Workspace/"):
            local = folder / path.lstrip("/")
        else:
            local = folder / "Workspace" / path.lstrip("/")
        return local if local.exists() else None

    def _map_param(self, folder: Path, value: str) -> str:
        words = value.split(" ")
        return " ".join(str(self._local(folder, w) or w) if w.startswith(("/Volumes/", "/Workspace/")) else w
                        for w in words)

    def _task(self, folder: Path, run: EmuRun, task: dict, values: Path) -> TaskOutcome:
        from ...kernel.runner import run_notebook

        key = task["task_key"]
        nt = task["notebook_task"]
        path = nt["notebook_path"]
        notebook = next((p for p in (folder / "Workspace" / (path.lstrip("/") + ext)
                                     for ext in (".py", ".ipynb", ".sql", ".scala", ".r")) if p.is_file()), None)
        if notebook is None:
            return TaskOutcome("FAILED", f'Unable to access the notebook "{path}". Either it does not exist, or '
                                         "the identity used to run this job lacks the required permissions.")
        venv = make_venv(folder / "envs" / key)
        failed = self._install(folder, venv, task.get("libraries") or [])
        if failed:
            return TaskOutcome("FAILED", failed)
        params = {k: self._map_param(folder, str(v)) for k, v in (nt.get("base_parameters") or {}).items()}
        env = {"DATABRICKS_HOST": self.emu.url, "MLOPS_DBFS_ROOT": str(folder / "dbfs"), **self.rt.env}
        if self.emu.token:
            env["DATABRICKS_TOKEN"] = self.emu.token
        result = run_notebook(notebook, params=params, job_params=dict(run.job_parameters), task_key=key,
                              task_values_file=values, timeout=self.rt.timeout, cwd=notebook.parent, env=env,
                              python=str(venv))
        if result.status == "passed":
            return TaskOutcome("SUCCESS", output=result.exit_value)
        state = "TIMEDOUT" if result.status == "timeout" else "FAILED"
        return TaskOutcome(state, result.error or "Notebook failed", result.traceback or result.error,
                           output=result.exit_value)

    def _install(self, folder: Path, venv: Path, libraries: list[dict]) -> str | None:
        """Install the task's libraries into its venv; the failure message, or None."""
        args: list[str] = []
        for lib in libraries:
            if "whl" in lib:
                local = self._local(folder, lib["whl"])
                if local is None:
                    return (f"Library installation failed for library due to user error for whl: {lib['whl']!r}. "
                            f"Error messages: file {lib['whl']} does not exist")
                args.append(str(local))
            elif "pypi" in lib:
                args.append(lib["pypi"]["package"])
            else:
                return f"Library installation failed: library type {sorted(lib)} is not supported by the emulator"
        if not args:
            return None
        # their requirements must be met by the base runtime or the package index: nothing is downloaded
        cmd = [str(venv), "-m", "pip", "install", "--no-index", "--quiet", "--disable-pip-version-check"]
        if self.rt.package_index:
            cmd += ["--find-links", self.rt.package_index]
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        proc = subprocess.run(cmd + args, capture_output=True, text=True, env=env, check=False)
        if proc.returncode != 0:
            lines = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
            return ("Library installation failed for library due to user error. Error messages: "
                    + (lines[-1] if lines else f"pip exited {proc.returncode}"))
        return None

