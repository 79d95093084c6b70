"""Kernels started ahead and reused: what makes many notebooks in one run cheap.

    with kernel_pool(preload=modules_imported_by(paths), ahead={env: 1}):
        run_notebook(...)       # any runner call of this process takes a pooled kernel

Without an active pool the runner starts one fresh kernel per notebook, as before. With one:

- a kernel is started ahead (``ahead``, or as soon as one is taken) with the heavy libraries
  the notebooks import already imported (``preload``), so a notebook waits for neither;
- after a notebook that **passed**, its kernel goes back to the pool and is reset to the
  baseline taken after the preload (:mod:`devops_mlops.kernel.warm`); a notebook that failed,
  timed out or whose kernel died never hands its kernel on: it is killed;
- kernels are only shared between notebooks run with the same kernel environment;
- every kernel coroutine runs on the pool's own event loop (one thread), since a kernel
  client belongs to the loop it was made on.

The isolation rule is in docs/test.md; ``--fresh-kernels`` (mlops test) turns reuse off.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..core import pyast
from .kernels import LIVE, LIVE_LOCK, execute_quiet, kernel_env, new_kernel, stop_kernel

_ACTIVE: KernelPool | None = None
#: always warm: the runtime every notebook's first cell imports
_RUNTIME = ("devops_mlops.kernel.shim", "devops_mlops.kernel.warm")
#: what the runtime API imports when a notebook logs a model or touches a table on the local target
_API_LIBRARIES = ("mlflow", "mlflow.sklearn", "deltalake")


_RESET = "__import__('devops_mlops.kernel.warm').kernel.warm.reset(get_ipython())"


def active() -> KernelPool | None:
    """The pool the runner of this process uses now, if any."""
    return _ACTIVE


#: read by the toolkit only when used, never secret: set per notebook in a shared kernel (warm.enter);
#: every other variable (PYTHONPATH, MLFLOW_*, secrets) decides which kernels a notebook may share
LATE_ENV = ("MLOPS_CONFIG", "MLOPS_DBFS_ROOT")


#: what libraries imported into this process write into ``os.environ`` as they run (MLflow's fluent API
#: exports its URIs and run, its telemetry a session id; OpenMP flags are set when scikit-learn or
#: MLflow is imported): this process's state, not the notebooks' environment. A pooled kernel gets
#: them as they were when the pool opened, so a library the toolkit imports on the way (the gate loads
#: a model) neither reaches the notebooks nor splits the pool into kernels of "another environment".
PROCESS_STATE = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID",
                 "_MLFLOW_TELEMETRY_SESSION_ID", "KMP_DUPLICATE_LIB_OK", "KMP_INIT_AT_FORK")


def inherited_environ() -> dict[str, str]:
    """The environment a kernel inherits from this process: ``os.environ``, with the
    :data:`PROCESS_STATE` variables as they were when the active pool opened (no pool: as they are)."""
    env = dict(os.environ)
    pool = _ACTIVE
    if pool is not None:
        for name, value in pool.opened_env.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
    return env


def _base_env(env: dict[str, str]) -> dict[str, str]:
    """A kernel environment without the variables set per notebook (:data:`LATE_ENV`)."""
    return {k: v for k, v in env.items() if k not in LATE_ENV}


def _env_key(env: dict[str, str]) -> str:
    """The key of the kernels a notebook with this environment may share."""
    return json.dumps(sorted(_base_env(env).items()))


def enter_code(env: dict[str, str]) -> str:
    """The line a pooled kernel runs before a notebook's setup."""
    late = {name: env.get(name) for name in LATE_ENV}
    return f"__import__('devops_mlops.kernel.warm').kernel.warm.enter({late!r})\n"


class PooledKernel:
    """A started kernel with its client: ``client`` is an nbclient NotebookClient."""

    def __init__(self, client, pid: int | None, folder: Path, key: str):
        self.client, self.pid, self.folder, self.key = client, pid, folder, key
        self.uses = 0


class KernelPool:
    """Kernels by environment: idle ones ready for a notebook, and those starting; every coroutine of
    theirs runs on the pool's own event loop, in a thread of its own."""

    def __init__(self, *, preload: Iterable[str] = (), reuse: bool = True):
        self.preload = list(dict.fromkeys([*_RUNTIME, *preload]))
        self.reuse = reuse
        self.debug = bool(os.environ.get("MLOPS_POOL_DEBUG"))
        self.idle: dict[str, list[PooledKernel]] = {}
        self.starting: dict[str, list[asyncio.Future]] = {}
        self.stats = {"started": 0, "reused": 0, "killed": 0}
        self.opened_env = {name: os.environ.get(name) for name in PROCESS_STATE}
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="mlops-kernel-pool", daemon=True)
        self._thread.start()

    # ----------------------------------------------------------- called from any thread
    def submit(self, coro):
        """Run ``coro`` on the pool's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def start_ahead(self, env: dict[str, str], count: int = 1) -> None:
        """Start ``count`` kernels for ``env`` now, without waiting for them."""
        for _ in range(count):
            self.loop.call_soon_threadsafe(self._spawn, env)

    def close(self) -> None:
        """Kill every kernel of the pool and stop its loop."""
        with contextlib.suppress(Exception):
            self.submit(self._close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)

    # ----------------------------------------------------------- on the pool's loop
    def _spawn(self, env: dict[str, str]) -> asyncio.Future:
        key = _env_key(env)
        task = asyncio.ensure_future(self._start(env, key))
        self.starting.setdefault(key, []).append(task)
        return task

    async def acquire(self, env: dict[str, str]) -> PooledKernel:
        """A kernel for a notebook with this environment: an idle one, else the next one starting."""
        key = _env_key(env)
        idle = self.idle.get(key)
        if idle:
            kernel = idle.pop()
            self.stats["reused"] += 1
            return kernel
        if not self.starting.get(key):
            if self.debug:
                print(f"kernel pool: a kernel for another environment ({len(self.idle)} known)", file=sys.stderr)
            self._spawn(env)
        task = self.starting[key].pop(0)  # claimed: no other notebook waits for this one
        if not self.reuse:
            self._spawn(env)  # the next notebook's kernel starts while this one runs
        return await task

    async def release(self, kernel: PooledKernel, reusable: bool) -> None:
        """Take a kernel back: reset and idle if ``reusable`` (and reuse is on) and the reset worked, else killed."""
        kernel.uses += 1
        kernel.client.nb.cells = []
        if reusable and self.reuse:
            if await execute_quiet(kernel.client, _RESET, self.debug):
                self.idle.setdefault(kernel.key, []).append(kernel)
                return
        await self._kill(kernel)

    async def _start(self, env: dict[str, str], key: str) -> PooledKernel:
        folder = Path(tempfile.mkdtemp(prefix="mlops-kernel-"))
        client, pid = await new_kernel(folder, folder, _base_env(env))
        self.stats["started"] += 1
        kernel = PooledKernel(client, pid, folder, key)
        code = f"__import__('devops_mlops.kernel.warm').kernel.warm.warm(get_ipython(), {self.preload!r})"
        if not await execute_quiet(client, code):
            await self._kill(kernel)
            raise RuntimeError("the kernel could not import the runtime (devops_mlops.kernel.warm)")
        client.nb.cells = []
        return kernel

    async def _kill(self, kernel: PooledKernel) -> None:
        self.stats["killed"] += 1
        await stop_kernel(kernel.client, kernel.pid)
        shutil.rmtree(kernel.folder, ignore_errors=True)

    async def _close(self) -> None:
        for tasks in self.starting.values():
            for task in tasks:
                with contextlib.suppress(BaseException):
                    self.idle.setdefault("", []).append(await task)
        self.starting.clear()
        for kernels in self.idle.values():
            for kernel in kernels:
                await self._kill(kernel)
        self.idle.clear()


@contextlib.contextmanager
def kernel_pool(*, preload: Iterable[str] = (), reuse: bool = True,
                ahead: Iterable[dict[str, str]] = ()) -> Iterator[KernelPool]:
    """Make a pool the process's runner uses until the block ends (nested: the outer one stays)."""
    global _ACTIVE
    if _ACTIVE is not None:
        yield _ACTIVE
        return
    pool = KernelPool(preload=preload, reuse=reuse)
    for env in ahead:
        pool.start_ahead(kernel_env(env, inherited_environ()))
    _ACTIVE = pool
    try:
        yield pool
    finally:
        _ACTIVE = None
        pool.close()


# ----------------------------------------------------------------- what to preload


def modules_imported_by(paths: Iterable[Path]) -> list[str]:
    """The installed libraries (top-level names) that these Python files and notebooks import: what a
    pooled kernel imports ahead. The project's own modules are never preloaded (they are reset)."""
    names: dict[str, None] = {}
    for path in paths:
        for source in _sources(Path(path)):
            try:
                tree = pyast.parse(source)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names.update((a.name, None) for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names[node.module] = None
    return [n for n in names if _installed(n)]


def _sources(path: Path) -> list[str]:
    from ..core.notebook import MAX_BYTES

    try:
        if path.stat().st_size > MAX_BYTES:
            return []  # the runner refuses it; never parsed here
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    if path.suffix == ".ipynb":
        try:
            cells = json.loads(text).get("cells", [])
        except (ValueError, RecursionError, AttributeError):
            return []  # the runner reports an unreadable notebook; nothing to preload from it
        return ["".join(map(str, c.get("source", ""))) if isinstance(c.get("source"), list)
                else str(c.get("source", "")) for c in cells if isinstance(c, dict) and c.get("cell_type") == "code"]
    # Databricks source: the magic lines are comments, the rest is Python; cells are parsed one by one
    return [part for part in text.split("# COMMAND ----------")]


def _installed(name: str) -> bool:
    import sysconfig

    if name == "devops_mlops" or name.startswith("devops_mlops."):
        return name.startswith("devops_mlops.runtime")
    try:
        spec = importlib.util.find_spec(name.split(".")[0])
    except (ImportError, ValueError):
        return False
    if spec is None or not spec.origin or spec.origin in ("built-in", "frozen"):
        return False
    roots = {os.path.realpath(p) for p in (sysconfig.get_paths().get("purelib"), sysconfig.get_paths().get("platlib"))
             if p}
    origin = os.path.realpath(spec.origin)
    return any(origin.startswith(r + os.sep) for r in roots) and name.split(".")[0] not in sys.stdlib_module_names


def preload_for(config, notebooks: Iterable[Path] = ()) -> list[str]:
    """What a project's pooled kernels import ahead: the libraries its notebooks (default: all of
    ``notebooks:``) and its own package (``python_path``) import, plus the runtime API."""
    from .entry_points import source_paths

    files = list(notebooks) or [p for p in config.notebooks_dir.rglob("*") if p.suffix in (".py", ".ipynb")]
    for folder in source_paths(config):
        files.extend(folder.rglob("*.py"))
    names = modules_imported_by(files)
    if "devops_mlops.runtime.api" in names:
        names += [n for n in _API_LIBRARIES if n not in names and _installed(n)]
    return names


def live_kernel_cpu() -> float:
    """User+sys seconds of the kernels alive right now (and their children): what
    ``RUSAGE_CHILDREN`` does not count yet, since a pooled kernel is reaped only at the end."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - ipykernel depends on psutil
        return 0.0
    with LIVE_LOCK:
        pids = list(LIVE)
    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except (psutil.Error, OSError):
            continue
    return total
