"""Reading a Databricks Asset Bundle beside mlops.yaml: name, variables, per-target values, includes.

The bundles here are written for these tests, in the shapes bundle users write."""

from pathlib import Path

import pytest

from devops_mlops.config import load_config
from devops_mlops.errors import ConfigError, InputError
from devops_mlops.files.jobs import find_bundle, load_job_definitions, read_bundle

pytestmark = pytest.mark.fast

MLOPS = """\
project: shop
model: {name: m}
notebooks: src
{extra}
targets:
  dev:
    backend: databricks
    host: http://127.0.0.1:1
    repo_path: /Repos/ci/shop
    branch: main
{target_extra}
"""

BUNDLE = """\
bundle:
  name: shop_bundle
include:
  - resources/*.yml
variables:
  catalog:
    description: where the tables go
    default: main
  schema:
    default: shop_${bundle.target}
  warehouse_id:
    lookup:
      warehouse: Shared
targets:
  dev:
    mode: development
    variables:
      catalog: dev_catalog
  prod:
    variables:
      catalog: prod_catalog
"""

JOB = """\
resources:
  jobs:
    refresh:
      name: ${bundle.name}-refresh-${bundle.target}
      tasks:
        - task_key: load
          notebook_task:
            notebook_path: ../src/load.py
            base_parameters:
              catalog: ${var.catalog}
              schema: ${var.schema}
"""


def project(tmp_path: Path, job: str = JOB, bundle: str | None = BUNDLE, extra: str = "", target_extra: str = "",
            bundle_name: str = "databricks.yml") -> Path:
    (tmp_path / "mlops.yaml").write_text(MLOPS.replace("{extra}", extra).replace("{target_extra}", target_extra))
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "load.py").write_text("# Databricks notebook source\nprint(1)\n")
    (tmp_path / "resources").mkdir()
    (tmp_path / "resources" / "refresh.job.yml").write_text(job)
    if bundle is not None:
        (tmp_path / bundle_name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / bundle_name).write_text(bundle)
    return tmp_path


def jobs(tmp_path: Path, target: str = "dev", whoami=None):
    cfg = load_config(tmp_path / "mlops.yaml")
    return load_job_definitions(cfg, cfg.target(target), whoami=whoami)


def test_bundle_name_variables_and_target_values(tmp_path):
    job = jobs(project(tmp_path))["refresh"]
    s = job.settings
    assert s["name"] == "shop_bundle-refresh-dev"
    nt = s["tasks"][0]["notebook_task"]
    # the target's value wins over the default; a default may hold references itself
    assert nt["base_parameters"] == {"catalog": "dev_catalog", "schema": "shop_dev"}
    # relative to the YAML file (resources/../src/load.py), rewritten to the Git folder
    assert nt["notebook_path"] == "/Repos/ci/shop/src/load"
    assert job.notebooks["load"] == tmp_path / "src" / "load.py"


def test_mlops_variables_win_over_the_bundle(tmp_path):
    project(tmp_path, extra="variables: {catalog: from_mlops, schema: s1}",
            target_extra="    variables: {schema: s2}")
    nt = jobs(tmp_path)["refresh"].settings["tasks"][0]["notebook_task"]
    assert nt["base_parameters"] == {"catalog": "from_mlops", "schema": "s2"}


def test_bundle_key_names_another_file(tmp_path):
    project(tmp_path, bundle_name="bundles/main.yml", extra="bundle: bundles/main.yml",
            bundle=BUNDLE.replace("resources/*.yml", "../resources/*.yml"))
    with pytest.raises(ConfigError) as exc:  # include globs stay inside the bundle folder
        jobs(tmp_path)
    assert exc.value.path.endswith("main.yml") and exc.value.line == 4
    (tmp_path / "bundles" / "main.yml").write_text(BUNDLE.replace("include:\n  - resources/*.yml\n", ""))
    cfg = load_config(tmp_path / "mlops.yaml")
    assert find_bundle(cfg) == tmp_path / "bundles" / "main.yml"
    assert jobs(tmp_path)["refresh"].settings["name"] == "shop_bundle-refresh-dev"


def test_a_missing_bundle_file_is_exit_2_naming_the_key(tmp_path):
    project(tmp_path, bundle=None, extra="bundle: nowhere.yml")
    with pytest.raises(ConfigError) as exc:
        jobs(tmp_path)
    assert "nowhere.yml" in exc.value.message and exc.value.path.endswith("mlops.yaml") and exc.value.line == 4


def test_includes_bring_job_files_outside_the_jobs_folder(tmp_path):
    project(tmp_path, extra="jobs: nothing_here",
            bundle=BUNDLE.replace("resources/*.yml", "resources/*.job.yml"))
    assert list(jobs(tmp_path)) == ["refresh"]
    cfg = load_config(tmp_path / "mlops.yaml")
    b = read_bundle(cfg, cfg.target("dev"))
    assert b.name == "shop_bundle" and b.includes == [(tmp_path / "resources" / "refresh.job.yml").resolve()]
    assert b.lookups == {"warehouse_id"}


def test_a_lookup_variable_needs_a_value_from_mlops(tmp_path):
    job = JOB.replace("schema: ${var.schema}", "warehouse: ${var.warehouse_id}")
    project(tmp_path, job=job)
    with pytest.raises(ConfigError) as exc:
        jobs(tmp_path)
    assert "${var.warehouse_id} is a bundle lookup variable" in exc.value.message
    assert exc.value.path.endswith("refresh.job.yml") and exc.value.line == 11
    (tmp_path / "mlops.yaml").write_text(MLOPS.replace("{extra}", "variables: {warehouse_id: abc123}").replace("{target_extra}", ""))
    assert jobs(tmp_path)["refresh"].settings["tasks"][0]["notebook_task"]["base_parameters"]["warehouse"] == "abc123"


def test_undefined_variable_names_file_line_and_both_sources(tmp_path):
    project(tmp_path, job=JOB.replace("${var.schema}", "${var.shcema}"))
    with pytest.raises(ConfigError) as exc:
        jobs(tmp_path)
    err = exc.value
    assert "undefined variable ${var.shcema}" in err.message and "mlops.yaml and databricks.yml" in err.message
    assert err.path.endswith("refresh.job.yml") and err.line == 11 and err.exit_code == 2


def test_malformed_bundle_is_input_error_naming_it(tmp_path):
    project(tmp_path, bundle="bundle: [\n")
    with pytest.raises(InputError) as exc:
        jobs(tmp_path)
    assert exc.value.path.endswith("databricks.yml") and exc.value.exit_code == 2


@pytest.mark.parametrize("text,needle", [
    ("variables: [a]\n", "variables: expected a mapping"),
    ("targets: [dev]\n", "targets: expected a mapping"),
    ("targets:\n  dev:\n    variables: [x]\n", "targets.dev.variables: expected a mapping"),
    ("include: {a: b}\n", "include: expected a list"),
    ("include: [/etc/*.yml]\n", "include[0]: expected a glob relative"),
    ("- a\n", "top level of a bundle file must be a mapping"),
])
def test_bad_bundle_shapes(tmp_path, text, needle):
    project(tmp_path, bundle=text)
    with pytest.raises(ConfigError) as exc:
        jobs(tmp_path)
    assert needle in exc.value.message and exc.value.path.endswith("databricks.yml")


def test_no_bundle_keeps_the_mlops_only_behaviour(tmp_path):
    project(tmp_path, bundle=None, job=JOB.replace("${bundle.name}", "${project}"),
            extra="variables: {catalog: c, schema: s}")
    assert jobs(tmp_path)["refresh"].settings["name"] == "shop-refresh-dev"


def test_top_level_permissions_apply_to_every_bundle_job_with_its_own(tmp_path):
    bundle = BUNDLE + "permissions:\n  - level: CAN_VIEW\n    group_name: users\n"
    job = JOB.replace("      tasks:", "      permissions:\n        - level: CAN_MANAGE_RUN\n          user_name: a@b.c\n"
                      "      tasks:", 1)
    project(tmp_path, job=job, bundle=bundle)
    assert jobs(tmp_path)["refresh"].permissions == [
        {"group_name": "users", "permission_level": "CAN_VIEW"},
        {"user_name": "a@b.c", "permission_level": "CAN_MANAGE_RUN"}]
    # the target's permissions replace the top-level ones
    (tmp_path / "databricks.yml").write_text(bundle.replace(
        "      catalog: dev_catalog\n", "      catalog: dev_catalog\n    permissions:\n"
        "      - level: CAN_MANAGE\n        service_principal_name: 1234-sp\n"))
    assert jobs(tmp_path)["refresh"].permissions[0] == {"service_principal_name": "1234-sp",
                                                         "permission_level": "CAN_MANAGE"}
    (tmp_path / "databricks.yml").write_text(bundle.replace("level: CAN_VIEW", "level: IS_OWNER").replace(
        "group_name: users", "user_name: boss@b.c"))
    (tmp_path / "resources" / "refresh.job.yml").write_text(job.replace("CAN_MANAGE_RUN", "IS_OWNER"))
    with pytest.raises(ConfigError) as exc:
        jobs(tmp_path)
    assert "a job has exactly one owner" in exc.value.message and exc.value.path.endswith("refresh.job.yml")
