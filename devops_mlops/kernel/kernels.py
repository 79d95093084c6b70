"""The Jupyter kernels of this process: started (through nbclient), executed in, stopped, and
tracked while alive, so that none outlives the process (killed at exit, whatever happens).

The runner (one kernel per notebook) and the kernel pool (kernels started ahead and reused) both
start and stop their kernels here.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import signal
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: kernels alive right now: pid -> kernel manager (killed at exit whatever happens)
LIVE: dict[int, Any] = {}
LIVE_LOCK = threading.Lock()
#: seconds a kernel may take to start
STARTUP_TIMEOUT = 60


def kill_all_kernels() -> None:
    """Kill every kernel this process started and has not stopped yet (SIGKILL to its process group)."""
    with LIVE_LOCK:
        pids = list(LIVE)
        LIVE.clear()
    for pid in pids:
        kill_group(pid)


atexit.register(kill_all_kernels)


def kill_group(pid: int) -> None:
    """SIGKILL to a kernel's process group (to the process alone if the group is gone)."""
    try:
        os.killpg(pid, signal.SIGKILL)  # the kernel is a session leader: this takes its children too
    except (ProcessLookupError, PermissionError, OSError):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def kernel_env(extra: dict[str, str] | None, base: Mapping[str, str], isolated: bool = False) -> dict[str, str]:
    """The kernel's environment: ``base``, then ``extra``; a ``PYTHONPATH`` in ``extra`` (the project's
    own package folders) goes first on the path, before the toolkit's and the inherited one.
    ``base`` is this process's environment as its kernels inherit it: inside a kernel pool, without
    what this process's libraries exported meanwhile (:func:`~devops_mlops.kernel.pool.inherited_environ`).
    ``isolated`` (an interpreter of its own, see the runner's ``python``): neither the toolkit's folder
    nor the inherited ``PYTHONPATH``."""
    env = dict(base)
    extra = {str(k): str(v) for k, v in (extra or {}).items()}
    if isolated:
        # a fresh machine does not inherit this process's MLflow state: set_experiment/start_run here
        # export MLFLOW_EXPERIMENT_ID/MLFLOW_RUN_ID, which name objects of another tracking store
        env = {k: v for k, v in env.items() if not k.startswith("MLFLOW_")}
        env.pop("PYTHONPATH", None)
        env.pop("VIRTUAL_ENV", None)
        env["PYTHONNOUSERSITE"] = "1"
        if extra.get("PYTHONPATH"):
            env["PYTHONPATH"] = extra.pop("PYTHONPATH")
    else:
        package_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (extra.pop("PYTHONPATH", ""), package_root,
                                                        env.get("PYTHONPATH")) if p)
    env.setdefault("MPLBACKEND", "agg")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


async def new_kernel(folder: Path, cwd: Path, env: dict[str, str], python: str | None = None):
    """A started kernel (its sockets and connection file in ``folder``) and its client; (client, pid).
    ``python``: the interpreter of an isolated runtime (a kernel spec of its own in ``folder``)."""
    import nbformat
    from nbclient import NotebookClient

    client = NotebookClient(nbformat.v4.new_notebook(), timeout=None, allow_errors=True,
                            kernel_name="mlops-isolated" if python else "python3",
                            startup_timeout=STARTUP_TIMEOUT, shutdown_kernel="immediate")
    client.create_kernel_manager()
    if python:
        from jupyter_client.kernelspec import KernelSpecManager

        spec_dir = folder / "kernels" / "mlops-isolated"
        spec_dir.mkdir(parents=True)
        argv = [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        (spec_dir / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "isolated",
                                                          "language": "python"}), encoding="utf-8")
        client.km.kernel_spec_manager = KernelSpecManager(kernel_dirs=[str(spec_dir.parent)])
    client.km.transport = "ipc"  # unix sockets: no TCP ports, no plain-text warning
    client.km.ip = str(folder / "kernel")
    client.km.connection_file = str(folder / "kernel.json")  # nothing in ~/.local
    await client.async_start_new_kernel(cwd=str(cwd), env=env)
    pid = getattr(getattr(client.km, "provisioner", None), "pid", None)
    if pid:
        with LIVE_LOCK:
            LIVE[pid] = client.km
    await client.async_start_new_kernel_client()
    return client, pid


async def execute_quiet(client, code: str, show: bool = False) -> bool:
    """Run ``code`` in the client's kernel as a cell of its own; whether it ran without an error."""
    import nbformat

    cell = nbformat.v4.new_code_cell(code)
    client.nb.cells.append(cell)
    try:
        await client.async_execute_cell(cell, len(client.nb.cells) - 1)
    except Exception:  # noqa: BLE001 - a dead kernel: not usable
        return False
    errors = [out for out in cell.outputs if out.get("output_type") == "error"]
    if errors and show:
        print("\n".join(errors[0].get("traceback", [])), file=sys.stderr)
    return not errors


async def stop_kernel(client, pid: int | None) -> None:
    """Stop a kernel: kill its process group, forget it, close its channels and remove its files."""
    if pid:
        kill_group(pid)
        with LIVE_LOCK:
            LIVE.pop(pid, None)
    try:
        if client.kc is not None:
            client.kc.stop_channels()
        if client.km is not None:
            if pid is None and client.km.has_kernel:
                await client.km.shutdown_kernel(now=True)
            else:
                # the process is gone: reap it and remove the connection file
                proc = getattr(getattr(client.km, "provisioner", None), "process", None)
                if proc is not None:
                    await asyncio.get_running_loop().run_in_executor(None, proc.wait)
                from jupyter_core.utils import ensure_async

                await ensure_async(client.km.cleanup_resources())
    except Exception:  # pragma: no cover - best effort after a kill
        pass
