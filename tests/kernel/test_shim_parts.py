"""The shim's parts in this process, without a kernel: widgets, task values, secrets, fs paths, SQL
splitting, the error mapping and the reset between notebooks; and the package loaded from its folder
alone, as an isolated kernel loads it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devops_mlops.kernel import shim
from devops_mlops.kernel.shim import state
from devops_mlops.kernel.shim.dbutils import DBUtils, secret_env_name
from devops_mlops.kernel.shim.errors import InputWidgetNotDefined, SecretNotFound
from devops_mlops.kernel.shim.fs import local_path
from devops_mlops.kernel.shim.spark_display import split_sql
from devops_mlops.kernel.shim.tracebacks import describe


@pytest.fixture
def run(tmp_path):
    """The shim's state as install leaves it for a notebook run in ``tmp_path``; cleared afterwards."""
    state.cfg = {"state_dir": str(tmp_path), "notebook": str(tmp_path / "nb.py"), "params": {"a": "param"},
                 "job_params": {"a": "job", "b": "job"}, "dbfs_root": str(tmp_path / "dbfs")}
    yield state.cfg
    shim.reset()
    state.secrets_seen.clear()


@pytest.mark.fast
def test_widget_values_come_from_run_arguments_then_params_then_job_then_default(run):
    widgets = DBUtils().widgets
    widgets.text("a", "default")
    widgets.text("c", "default")
    widgets.dropdown("d", "x", ["x", "y"])
    assert (widgets.get("a"), widgets.get("b"), widgets.get("c")) == ("param", "job", "default")
    shim.push_params({"a": "run"})
    assert widgets.get("a") == "run"
    shim.pop_params()
    assert widgets.getAll() == {"a": "param", "c": "default", "d": "x", "b": "job"}
    with pytest.raises(InputWidgetNotDefined, match="No input widget named nope"):
        widgets.get("nope")
    assert widgets.getArgument("nope", "fallback") == "fallback"


@pytest.mark.fast
def test_errors_carry_the_shims_name_in_tracebacks():
    assert InputWidgetNotDefined.__module__ == SecretNotFound.__module__ == "devops_mlops.kernel.shim"


@pytest.mark.fast
def test_task_values_go_to_the_run_and_to_the_jobs_shared_file(run, tmp_path):
    run.update(task_values_file=str(tmp_path / "shared.json"), task_key="train")
    values = DBUtils().jobs.taskValues
    values.set("rows", 3)
    assert json.loads((tmp_path / "task_values.json").read_text()) == {"rows": 3}
    assert json.loads((tmp_path / "shared.json").read_text()) == {"train": {"rows": 3}}
    assert values.get("train", "rows") == 3 and values.get("prep", "x", default=0) == 0
    with pytest.raises(ValueError, match="no task value 'x'"):
        values.get("prep", "x")


@pytest.mark.fast
def test_secrets_come_from_the_environment_and_are_masked_once_read(run, monkeypatch):
    assert secret_env_name("my-scope", "api.key") == "MLOPS_SECRET_MY_SCOPE__API_KEY"
    monkeypatch.setenv("MLOPS_SECRET_MY_SCOPE__API_KEY", "s3cr3t")
    secrets = DBUtils().secrets
    with pytest.raises(SecretNotFound, match="MLOPS_SECRET_MY_SCOPE__OTHER"):
        secrets.get("my-scope", "other")
    assert state.mask("token s3cr3t") == "token s3cr3t"  # not read yet
    assert secrets.get("my-scope", "api.key") == "s3cr3t"
    assert state.mask("token s3cr3t") == "token [REDACTED]"
    assert [s.name for s in secrets.listScopes()] == ["my_scope"]


@pytest.mark.fast
def test_dbfs_and_file_paths_map_to_local_ones(run, tmp_path):
    assert local_path("dbfs:/data/x.csv") == tmp_path / "dbfs" / "data" / "x.csv"
    assert local_path("/dbfs/data/x.csv") == tmp_path / "dbfs" / "data" / "x.csv"
    assert local_path("file:///tmp/x") == Path("/tmp/x")
    fs = DBUtils().fs
    fs.put("dbfs:/a/b.txt", "hello")
    assert fs.head("dbfs:/a/b.txt") == "hello" and [f.name for f in fs.ls("dbfs:/a")] == ["b.txt"]
    assert fs.cp("dbfs:/a/b.txt", "dbfs:/c/b.txt") and fs.rm("dbfs:/a", recurse=True)
    assert not local_path("dbfs:/a").exists() and local_path("dbfs:/c/b.txt").read_text() == "hello"


@pytest.mark.fast
def test_sql_cells_split_on_semicolons_outside_quotes_and_comments():
    text = "select ';' as a; -- a comment; still a comment\nselect \"x;y\" from t;\n\n;"
    assert split_sql(text) == ["select ';' as a", "select \"x;y\" from t"]


@pytest.mark.fast
def test_an_error_is_reported_in_the_notebooks_lines_without_the_shims_frames(run):
    source = "x = 1\ndbutils.widgets.get('missing')\n"
    unit = {"kind": "code", "source": source, "path": "/repo/notebooks/nb.py", "cell": 2, "line_map": [10, 11]}
    state.units_by_file["<cell-2>"] = unit
    try:
        exec(compile(source, "<cell-2>", "exec"), {"dbutils": DBUtils()})
    except InputWidgetNotDefined:
        info = describe(*sys.exc_info())
    assert (info["path"], info["cell"], info["line"]) == ("/repo/notebooks/nb.py", 2, 11)
    assert info["ename"] == "InputWidgetNotDefined" and "widgets.py" not in info["traceback"]
    assert 'File "/repo/notebooks/nb.py", line 11, in <module> (cell 2)' in info["traceback"]


@pytest.mark.fast
def test_reset_forgets_the_notebook_but_keeps_its_secrets_masked(run):
    DBUtils().widgets.text("w", "1")
    shim.push_params({"a": "b"})
    state.units_by_source["x"] = {}
    state.secrets_seen.add("kept")
    shim.reset()
    assert state.cfg == {} and state.widgets == {} and state.param_stack == [] and state.units_by_source == {}
    assert state.mask("kept") == "[REDACTED]"


def test_the_package_loads_from_its_folder_without_the_toolkit():
    folder = Path(shim.__file__).parent
    code = (
        "import importlib.util as u, sys\n"
        f"spec = u.spec_from_file_location('_mlops_shim', {str(folder / '__init__.py')!r}, "
        f"submodule_search_locations=[{str(folder)!r}])\n"
        "m = sys.modules['_mlops_shim'] = u.module_from_spec(spec)\n"
        "spec.loader.exec_module(m)\n"
        "print(sorted(n for n in sys.modules if 'mlops' in n))\n"
    )
    # -S: no site-packages, so the toolkit (an installed package) cannot be imported
    out = subprocess.run([sys.executable, "-S", "-I", "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = eval(out)
    assert "_mlops_shim.dbutils" in loaded and not any(n.startswith("devops_mlops") for n in loaded)
