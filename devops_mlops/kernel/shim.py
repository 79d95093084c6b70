"""Databricks' notebook globals inside a local Jupyter kernel (imported by the kernel, stdlib only).

The runner executes ``_mlops_shim.install(get_ipython(), CONFIG_JSON_PATH)`` first;
``install`` defines ``dbutils``, ``spark``, ``display``, ``displayHTML`` and
``getArgument`` in the user namespace and a handler that turns exceptions into a
user-code traceback with original file lines. It talks back to the runner through
files in the run's ``state_dir``: ``exit.json`` (dbutils.notebook.exit),
``error.json`` (the last error, mapped), ``task_values.json`` (values this run set),
``tests.json`` (the ``test_*`` functions' results).

Environment (documented in docs/test.md):
- ``MLOPS_SECRET_<SCOPE>__<KEY>``: ``dbutils.secrets.get(scope, key)``; scope and key
  upper-cased, every character other than A-Z 0-9 replaced by ``_``. Values are masked
  as ``[REDACTED]`` in everything the notebook prints.
- ``MLOPS_DBFS_ROOT``: the local folder ``dbfs:/`` and ``/dbfs/`` paths map to.
"""

from __future__ import annotations

import json
import linecache
import os
import re
import shutil
import subprocess
import sys
import time
import traceback
from collections import namedtuple
from pathlib import Path

_MISSING = object()
_cfg: dict = {}
_ip = None
_units_by_file: dict[str, dict] = {}
_units_by_source: dict[str, dict] = {}
_secrets_seen: set[str] = set()
_param_stack: list[dict] = []
_widgets: dict[str, dict] = {}
_SHIM_FILE = os.path.abspath(__file__).rstrip("c")


# ----------------------------------------------------------------- errors


class NotebookExit(Exception):
    """dbutils.notebook.exit: ends the notebook successfully."""


class InputWidgetNotDefined(Exception):
    pass


class SecretNotFound(Exception):
    pass


class WorkflowException(Exception):
    """dbutils.notebook.run: the child notebook failed."""


class SparkNotAvailable(RuntimeError):
    pass


# ----------------------------------------------------------------- helpers


def _state(name: str) -> Path:
    return Path(_cfg["state_dir"]) / name


def _write_json(path: Path, data) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, default=str), encoding="utf-8")
    os.replace(tmp, path)


def _mask(text: str) -> str:
    for secret in sorted(_secrets_seen, key=len, reverse=True):
        text = text.replace(secret, "[REDACTED]")
    return text


def _wrap_stream(stream) -> None:
    """Mask secrets in what the notebook prints (patched on the stream's class: IPython re-wraps instances)."""
    cls = type(stream)
    if stream is None or getattr(cls, "_mlops_masked", False):
        return
    original = cls.write

    def write(self, text):
        if _secrets_seen and isinstance(text, str):
            text = _mask(text)
        return original(self, text)

    try:
        cls.write = write
        cls._mlops_masked = True
    except (AttributeError, TypeError):  # pragma: no cover - built-in stream types
        pass


# ----------------------------------------------------------------- widgets


def _lookup(name: str):
    for frame in reversed(_param_stack):
        if name in frame:
            return str(frame[name])
    params = _cfg.get("params") or {}
    if name in params:
        return str(params[name])
    job = _cfg.get("job_params") or {}
    if name in job:
        return str(job[name])
    if name in _widgets:
        return _widgets[name]["default"]
    return _MISSING


class Widgets:
    """dbutils.widgets: values come from --param, then the job's parameters, then the default."""

    def _define(self, kind, name, defaultValue, choices=None, label=None):
        if not isinstance(name, str) or not name:
            raise ValueError("a widget needs a name")
        if choices is not None:
            choices = [str(c) for c in choices]
            defaults = str(defaultValue).split(",") if kind == "multiselect" else [str(defaultValue)]
            for d in defaults:
                if d not in choices and kind != "combobox":
                    raise ValueError(f"default value {d!r} of widget {name!r} is not one of its choices {choices}")
        _widgets[name] = {"kind": kind, "default": "" if defaultValue is None else str(defaultValue), "choices": choices, "label": label}

    def text(self, name, defaultValue="", label=None):
        self._define("text", name, defaultValue, None, label)

    def dropdown(self, name, defaultValue, choices, label=None):
        self._define("dropdown", name, defaultValue, choices, label)

    def combobox(self, name, defaultValue, choices, label=None):
        self._define("combobox", name, defaultValue, choices, label)

    def multiselect(self, name, defaultValue, choices, label=None):
        self._define("multiselect", name, defaultValue, choices, label)

    def get(self, name):
        value = _lookup(name)
        if value is _MISSING:
            raise InputWidgetNotDefined(f"No input widget named {name} is defined")
        w = _widgets.get(name)
        if w and w["kind"] == "dropdown" and value not in w["choices"]:
            raise ValueError(f"value {value!r} of widget {name!r} is not one of its choices {w['choices']}")
        return value

    def getArgument(self, name, defaultValue=None):
        value = _lookup(name)
        return defaultValue if value is _MISSING else value

    def getAll(self):
        names = list(_widgets)
        for source in ((_cfg.get("job_params") or {}), (_cfg.get("params") or {}), *_param_stack):
            names += [n for n in source if n not in names]
        return {n: _lookup(n) for n in names}

    def remove(self, name):
        if name not in _widgets:
            raise InputWidgetNotDefined(f"No input widget named {name} is defined")
        del _widgets[name]

    def removeAll(self):
        _widgets.clear()

    def help(self, *a):
        print("dbutils.widgets (local emulation by mlops): text, dropdown, combobox, multiselect, get, getAll, "
              "getArgument, remove, removeAll")


def getArgument(name, defaultValue=None):
    return Widgets().getArgument(name, defaultValue)


# ----------------------------------------------------------------- task values


def _locked_update(path: Path, update):
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(str(path) + ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            data = json.loads(path.read_text(encoding="utf-8")) if path.exists() and path.stat().st_size else {}
            update(data)
            _write_json(path, data)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class TaskValues:
    """dbutils.jobs.taskValues across the tasks of a locally run job (a shared JSON file)."""

    def set(self, key, value):
        json.dumps(value)  # Databricks requires JSON-serializable values
        mine = _state("task_values.json")
        own = json.loads(mine.read_text(encoding="utf-8")) if mine.exists() else {}
        own[key] = value
        _write_json(mine, own)
        shared, task = _cfg.get("task_values_file"), _cfg.get("task_key")
        if shared and task:
            _locked_update(Path(shared), lambda d: d.setdefault(task, {}).__setitem__(key, value))

    def get(self, taskKey, key, default=_MISSING, debugValue=_MISSING):
        shared = _cfg.get("task_values_file")
        if not shared:
            if debugValue is _MISSING:
                raise TypeError("taskValues.get outside a job needs debugValue (run the notebook as a job task "
                                "or pass debugValue=...)")
            return debugValue
        path = Path(shared)
        data = {}
        if path.exists() and path.stat().st_size:
            data = json.loads(path.read_text(encoding="utf-8"))
        if key in data.get(taskKey, {}):
            return data[taskKey][key]
        if default is not _MISSING:
            return default
        raise ValueError(f"no task value {key!r} set by task {taskKey!r} (and no default)")


class Jobs:
    def __init__(self):
        self.taskValues = TaskValues()


# ----------------------------------------------------------------- notebook


class NotebookUtils:
    def exit(self, value=""):
        _write_json(_state("exit.json"), {"value": "" if value is None else str(value)})
        raise NotebookExit(str(value))

    def run(self, path, timeout_seconds=0, arguments=None):
        """Run another notebook in its own fresh kernel; return its exit value."""
        base = Path(_cfg["notebook"]).parent
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
            "task_key": _cfg.get("task_key"),
            "task_values_file": _cfg.get("task_values_file"),
        }
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
        return {"notebookPath": _cfg.get("notebook"), "local": True}


# ----------------------------------------------------------------- secrets


def secret_env_name(scope: str, key: str) -> str:
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
            _secrets_seen.add(value)
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


# ----------------------------------------------------------------- fs

FileInfo = namedtuple("FileInfo", ["path", "name", "size", "modificationTime"])


def local_path(path: str) -> Path:
    """dbfs:/x and /dbfs/x -> $MLOPS_DBFS_ROOT/x; file:/x -> /x; anything else is a local path."""
    p = str(path)
    root = Path(_cfg.get("dbfs_root") or os.environ.get("MLOPS_DBFS_ROOT") or Path.cwd() / ".dbfs")
    for prefix in ("dbfs:", "/dbfs/"):
        if p.startswith(prefix):
            return root / p[len(prefix):].lstrip("/")
    if p.startswith("file:"):
        rest = p[5:]
        while rest.startswith("//"):
            rest = rest[1:]
        return Path(rest)
    return Path(p)


class Fs:
    """dbutils.fs on local paths."""

    def ls(self, path):
        lp = local_path(path)
        if not lp.exists():
            raise FileNotFoundError(f"{path}: no such file or directory")
        entries = sorted(lp.iterdir()) if lp.is_dir() else [lp]
        base = str(path).rstrip("/")
        out = []
        for e in entries:
            st = e.stat()
            name = e.name + ("/" if e.is_dir() else "")
            full = f"{base}/{name}" if lp.is_dir() else str(path)
            out.append(FileInfo(full, name, 0 if e.is_dir() else st.st_size, int(st.st_mtime * 1000)))
        return out

    def mkdirs(self, path):
        local_path(path).mkdir(parents=True, exist_ok=True)
        return True

    def put(self, file, contents, overwrite=False):
        lp = local_path(file)
        if lp.exists() and not overwrite:
            raise FileExistsError(f"{file} exists (pass overwrite=True)")
        lp.parent.mkdir(parents=True, exist_ok=True)
        lp.write_text(contents, encoding="utf-8")
        return True

    def head(self, file, maxBytes=65536):
        with open(local_path(file), "rb") as fh:
            return fh.read(maxBytes).decode("utf-8", errors="replace")

    def cp(self, src, dst, recurse=False):
        s, d = local_path(src), local_path(dst)
        if s.is_dir():
            if not recurse:
                raise IsADirectoryError(f"{src} is a directory (pass recurse=True)")
            shutil.copytree(s, d, dirs_exist_ok=True)
        else:
            d.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(s, d)
        return True

    def mv(self, src, dst, recurse=False):
        s, d = local_path(src), local_path(dst)
        d.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(s), str(d))
        return True

    def rm(self, path, recurse=False):
        lp = local_path(path)
        if not lp.exists():
            return False
        if lp.is_dir():
            if not recurse:
                raise IsADirectoryError(f"{path} is a directory (pass recurse=True)")
            shutil.rmtree(lp)
        else:
            lp.unlink()
        return True


class DBUtils:
    def __init__(self):
        self.widgets = Widgets()
        self.jobs = Jobs()
        self.notebook = NotebookUtils()
        self.secrets = Secrets()
        self.fs = Fs()

    def help(self, *a):
        print("dbutils (local emulation by mlops): fs, jobs.taskValues, notebook, secrets, widgets")


# ----------------------------------------------------------------- spark & display


class _LazySpark:
    """`spark`: the local Spark engine's session (a client of the engine that started this kernel,
    when there is one) when pyspark is installed, else a clear error on first use."""

    _session = None

    def _get(self):
        if _LazySpark._session is None:
            try:
                import pyspark.sql  # type: ignore  # noqa: F401
            except ImportError:
                raise SparkNotAvailable(
                    "this notebook needs Spark: `spark` is not available locally because pyspark is not installed "
                    "(pip install pyspark, or run it on Databricks with `mlops --target <databricks target> test`)"
                ) from None
            try:
                from devops_mlops.kernel import spark as engine
            except ImportError:  # an isolated runtime without the toolkit: pyspark alone
                from pyspark.sql import SparkSession  # type: ignore

                url = os.environ.get("MLOPS_SPARK_REMOTE")
                builder = SparkSession.builder
                _LazySpark._session = (builder.remote(url) if url else builder.master("local[2]")).getOrCreate()
            else:
                _LazySpark._session = engine.session()
        return _LazySpark._session

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._get(), name)

    def __repr__(self):
        return "<spark: local SparkSession, created on first use>"


def split_sql(text: str) -> list[str]:
    """The statements of a SQL cell (split on ``;`` outside quotes and ``--`` comments)."""
    out, buf, quote, i = [], [], None, 0
    while i < len(text):
        ch = text[i]
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = None
        elif ch in ("'", '"', "`"):
            quote = ch
            buf.append(ch)
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        elif ch == ";":
            out.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    out.append("".join(buf))
    return [s.strip() for s in out if s.strip()]


def run_sql(text: str):
    """A ``%sql`` cell: each statement through ``spark.sql``; the last one's rows are shown."""
    spark = _ip.user_ns.get("spark") if _ip is not None else None
    spark = spark if spark is not None else _LazySpark()
    result = None
    for statement in split_sql(text):
        result = spark.sql(statement)
    if result is not None:
        _ip.user_ns["_sqldf"] = result  # as on Databricks: the last SQL cell's DataFrame
        if result.columns:
            result.show(20, truncate=False)
    return None


def display(*objs, **kwargs):
    for obj in objs:
        if hasattr(obj, "show") and hasattr(obj, "schema"):  # a Spark DataFrame
            obj.show()
        else:
            from IPython.display import display as ipy_display

            ipy_display(obj)


def displayHTML(html):
    from IPython.display import HTML
    from IPython.display import display as ipy_display

    ipy_display(HTML(html))


# ----------------------------------------------------------------- error mapping


def _unit_for(filename: str):
    unit = _units_by_file.get(filename)
    if unit is not None:
        return unit
    lines = linecache.getlines(filename)
    if lines:
        return _units_by_source.get("".join(lines).strip())
    return None


def _frames(tb):
    """(file, line, name, code, unit) for the user's frames: from the first notebook cell on, minus this module."""
    out = []
    started = False
    for fs in traceback.extract_tb(tb):
        unit = _unit_for(fs.filename)
        if unit is not None:
            started = True
        if not started or os.path.abspath(fs.filename).rstrip("c") == _SHIM_FILE:
            continue
        if unit is not None:
            line_map = unit["line_map"]
            n = fs.lineno or 0
            file_line = line_map[n - 1] if 0 < n <= len(line_map) else n
            src = unit["source"].split("\n")
            code = src[n - 1].strip() if 0 < n <= len(src) else ""
            out.append((unit["path"], file_line, fs.name, code, unit))
        else:
            out.append((fs.filename, fs.lineno, fs.name, (fs.line or "").strip(), None))
    return out


def describe(etype, value, tb) -> dict:
    frames = _frames(tb)
    lines = ["Traceback (most recent call last):"]
    for path, line, name, code, unit in frames:
        cell = f" (cell {unit['cell']})" if unit else ""
        lines.append(f'  File "{path}", line {line}, in {name}{cell}')
        if code:
            lines.append(f"    {code}")
    lines.extend(l.rstrip("\n") for l in traceback.format_exception_only(etype, value))
    if isinstance(value, SyntaxError) and _unit_for(value.filename or "") is not None:
        unit = _unit_for(value.filename)
        n = value.lineno or 0
        line = unit["line_map"][n - 1] if 0 < n <= len(unit["line_map"]) else n
        frames.append((unit["path"], line, "<module>", (value.text or "").strip(), unit))
        lines = [f'  File "{unit["path"]}", line {line} (cell {unit["cell"]})', f"    {(value.text or '').strip()}",
                 f"{etype.__name__}: {value.msg}"]
        value = value.msg
    where = next((f for f in reversed(frames) if f[4] is not None), None)
    return {
        "ename": etype.__name__,
        "evalue": _mask(str(value)),
        "traceback": _mask("\n".join(lines)),
        "path": where[0] if where else None,
        "cell": where[4]["cell"] if where else None,
        "line": where[1] if where else None,
    }


def _custom_exc(shell, etype, value, tb, tb_offset=None):
    if issubclass(etype, NotebookExit):
        return []
    info = describe(etype, value, tb)
    try:
        _write_json(_state("error.json"), info)
    except OSError:  # pragma: no cover
        pass
    stb = info["traceback"].split("\n")
    # IPython only shows what a custom handler returns when told to: publish the error ourselves,
    # through the hook IPython documents for subclasses (ipykernel's sends an `error` message);
    # docs/DEVELOPING.md lists it among the private names we keep
    show = getattr(shell, "_showtraceback", None)
    if callable(show):
        show(etype, value, stb)
    else:  # pragma: no cover - IPython renamed it: print it as IPython's own default does
        print(info["traceback"], file=sys.stderr)
    return stb


# ----------------------------------------------------------------- runner hooks


def inject_parameters():
    """Papermill-style: after the `parameters` cell, assign --param / job values as variables."""
    values = dict(_cfg.get("job_params") or {})
    values.update(_cfg.get("params") or {})
    ns = _ip.user_ns
    for name, raw in values.items():
        if not str(name).isidentifier():
            continue
        old = ns.get(name, _MISSING)
        value = raw
        try:
            if isinstance(old, bool):
                value = str(raw).strip().lower() in ("1", "true", "yes", "on")
            elif isinstance(old, int):
                value = int(raw)
            elif isinstance(old, float):
                value = float(raw)
            elif isinstance(old, (list, dict)):
                value = json.loads(raw)
        except (TypeError, ValueError):
            value = raw
        ns[name] = value


def push_params(args: dict) -> None:
    _param_stack.append(dict(args))


def pop_params() -> None:
    if _param_stack:
        _param_stack.pop()


def run_tests() -> None:
    """Call every test_* function a notebook cell defined; write tests.json."""
    import inspect

    results = []
    for name, obj in list(_ip.user_ns.items()):
        if not name.startswith("test_") or not inspect.isfunction(obj):
            continue
        if _unit_for(obj.__code__.co_filename) is None:
            continue  # imported, not defined by the notebook
        unit = _unit_for(obj.__code__.co_filename)
        start = time.perf_counter()
        entry = {"name": name, "path": unit["path"], "cell": unit["cell"], "status": "passed", "error": None,
                 "traceback": None, "line": None}
        try:
            if inspect.signature(obj).parameters and any(
                p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                for p in inspect.signature(obj).parameters.values()
            ):
                raise TypeError(f"{name} takes arguments; test functions are called without any")
            obj()
        except NotebookExit:
            pass
        except Exception:
            etype, value, tb = sys.exc_info()
            info = describe(etype, value, tb)
            entry.update(status="failed", error=f"{info['ename']}: {info['evalue']}", traceback=info["traceback"],
                         line=info["line"], path=info["path"] or unit["path"])
        entry["duration"] = time.perf_counter() - start
        results.append(entry)
    _write_json(_state("tests.json"), results)


def install(ip, config_path: str) -> None:
    global _ip, _cfg
    _ip = ip
    _cfg = json.loads(Path(config_path).read_text(encoding="utf-8"))
    compiler = getattr(ip, "compile", None)
    for unit in _cfg.get("units", []):
        if unit.get("kind") != "code":
            continue
        _units_by_source.setdefault(unit["source"].strip(), unit)
        try:
            fname = compiler.get_code_name(unit["source"], unit["source"], 0)
            _units_by_file.setdefault(fname, unit)
        except Exception:  # pragma: no cover - IPython without get_code_name
            pass
    dbutils = DBUtils()
    ip.user_ns.update(
        dbutils=dbutils,
        spark=_LazySpark(),
        display=display,
        displayHTML=displayHTML,
        getArgument=getArgument,
    )
    ip.set_custom_exc((Exception,), _custom_exc)
    _wrap_stream(sys.stdout)
    _wrap_stream(sys.stderr)
    if _cfg.get("cwd"):
        os.chdir(_cfg["cwd"])
