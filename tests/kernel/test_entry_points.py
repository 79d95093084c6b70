"""Entry points: the project's own functions, named in mlops.yaml, imported from its python_path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from devops_mlops.config import load_config
from devops_mlops.errors import ConfigError
from devops_mlops.kernel import entry_points as ep
from devops_mlops.testing import project as sandbox

MLOPS = str(Path(sys.executable).with_name("mlops"))

CONFIG = """project: p
model: {{name: m}}
python_path: [code, missing]
entry_points:
  ingest: shop_{tag}.stages:land
  scenario: shop_{tag}.stages:Plan.describe
  train: {train}
"""


def project(tmp_path, tag: str, train: str = "shop_{tag}.nothere:fn") -> Path:
    pkg = tmp_path / "code" / f"shop_{tag}"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "stages.py").write_text(
        "def land(s, batches):\n    return {'landed': list(batches)}\n\n"
        "class Plan:\n    @staticmethod\n    def describe(s):\n        return {'drifts': []}\n"
    )
    (tmp_path / "mlops.yaml").write_text(CONFIG.format(tag=tag, train=train.format(tag=tag)))
    return tmp_path / "mlops.yaml"


def test_functions_are_imported_from_the_python_path(tmp_path):
    cfg = load_config(project(tmp_path, "a"))
    assert ep.call(cfg, "ingest", None, [3, 4]) == {"landed": [3, 4]}
    assert ep.resolve(cfg, "scenario")(None) == {"drifts": []}
    assert ep.source_paths(cfg) == [(tmp_path / "code").resolve()]
    assert ep.kernel_env(cfg) == {"PYTHONPATH": str((tmp_path / "code").resolve())}
    assert ep.resolve(cfg, "retrain", required=False) is None


def test_an_unknown_module_or_function_names_the_file_and_line(tmp_path):
    cfg = load_config(project(tmp_path, "b"))
    with pytest.raises(ConfigError) as err:
        ep.resolve(cfg, "train")
    assert err.value.exit_code == 2 and err.value.line == 7 and str(err.value.path).endswith("mlops.yaml")
    assert "cannot import module 'shop_b.nothere'" in err.value.message
    with pytest.raises(ConfigError, match="entry_points.train") as err:
        ep.check_all(cfg)
    cfg = load_config(project(tmp_path / "c", "c", train="shop_{tag}.stages:nope"))
    with pytest.raises(ConfigError, match="has no function 'nope'") as err:
        ep.resolve(cfg, "train")
    assert err.value.line == 7
    with pytest.raises(ConfigError, match="not set"):
        ep.resolve(cfg, "retrain")


def test_a_malformed_value_stops_loading(tmp_path):
    (tmp_path / "mlops.yaml").write_text("project: p\nmodel: {name: m}\nentry_points:\n  ingest: just_a_module\n")
    with pytest.raises(ConfigError, match="expected module:function") as err:
        load_config(tmp_path / "mlops.yaml")
    assert err.value.line == 4


def test_lifecycle_refuses_a_broken_entry_point_before_running_anything(tmp_path):
    folder = sandbox.make_project(tmp_path / "proj")
    cfg = folder / "mlops.yaml"
    text = cfg.read_text()
    broken = text.replace("toll_demand.pipeline:ingest", "toll_demand.pipeline:ingest_everything")
    assert broken != text
    cfg.write_text(broken)
    done = subprocess.run([MLOPS, "lifecycle"], cwd=folder, capture_output=True, text=True, timeout=120)
    line = next(i for i, ln in enumerate(broken.splitlines(), 1) if "ingest_everything" in ln)
    assert done.returncode == 2, done.stderr
    assert f"mlops.yaml:{line}" in done.stderr and "entry_points.ingest" in done.stderr
    assert "Traceback" not in done.stderr and not (folder / ".mlops" / "jobs").exists()
