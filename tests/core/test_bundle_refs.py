"""``${...}`` references of bundle job files: current user, workspace paths, other resources, anchors."""

from pathlib import Path

import pytest

from devops_mlops.config import load_config
from devops_mlops.core.bundle_refs import Place, Resolver, short_name
from devops_mlops.errors import ConfigError
from devops_mlops.files.jobs import load_jobs

pytestmark = pytest.mark.fast

MLOPS = """\
project: shop
model: {name: m}
notebooks: src
targets:
  dev:
    backend: databricks
    host: http://127.0.0.1:1
    workspace_dir: /Workspace/Shared/shop
"""


def project(tmp_path: Path, job: str, bundle: str = "bundle: {name: shop}\n") -> Path:
    (tmp_path / "mlops.yaml").write_text(MLOPS)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "hello.py").write_text("# Databricks notebook source\nprint(1)\n")
    (tmp_path / "resources").mkdir()
    (tmp_path / "resources" / "a.yml").write_text(job)
    (tmp_path / "databricks.yml").write_text(bundle)
    return tmp_path


def load(tmp_path: Path, whoami=None):
    cfg = load_config(tmp_path / "mlops.yaml")
    return load_jobs(cfg, cfg.target("dev"), whoami=whoami)


def counted_user():
    calls = []

    def whoami():
        calls.append(1)
        return {"userName": "Jane.Doe-42@example.com", "displayName": "Jane Doe", "id": "77"}

    return whoami, calls


TASK = """\
      tasks:
        - task_key: t
          notebook_task:
            notebook_path: ../src/hello.py
"""


def test_current_user_is_asked_once_and_only_when_used(tmp_path):
    job = ("resources:\n  jobs:\n    a:\n      name: ${workspace.current_user.short_name}-a\n"
           "      tags: {owner: '${workspace.current_user.userName}', who: '${workspace.current_user.displayName}'}\n"
           + TASK)
    project(tmp_path, job)
    whoami, calls = counted_user()
    s = load(tmp_path, whoami).jobs["a"].settings
    assert s["name"] == "jane_doe_42-a"
    assert s["tags"]["owner"] == "Jane.Doe-42@example.com" and s["tags"]["who"] == "Jane Doe"
    assert len(calls) == 1
    (tmp_path / "resources" / "a.yml").write_text("resources:\n  jobs:\n    a:\n" + TASK)
    whoami, calls = counted_user()
    load(tmp_path, whoami)
    assert calls == []


def test_short_name_is_the_local_part_in_lower_case_with_underscores():
    assert short_name("Jane.Doe@example.com") == "jane_doe"
    assert short_name("a1b2c3d4-0000-1111-2222-333344445555") == "a1b2c3d4_0000_1111_2222_333344445555"


def test_unknown_user_field_names_the_known_ones(tmp_path):
    project(tmp_path, "resources:\n  jobs:\n    a:\n      name: ${workspace.current_user.shoe_size}\n" + TASK)
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, counted_user()[0])
    assert "${workspace.current_user.shoe_size}" in exc.value.message and "short_name" in exc.value.message
    assert exc.value.line == 4


def test_workspace_paths_are_where_sync_puts_the_project(tmp_path):
    job = ("resources:\n  jobs:\n    a:\n      description: ${workspace.root_path}\n      tasks:\n"
           "        - task_key: t\n          notebook_task:\n"
           "            notebook_path: ${workspace.file_path}/hello\n")
    project(tmp_path, job)
    a = load(tmp_path).jobs["a"]
    assert a.settings["description"] == "/Workspace/Shared/shop"
    assert a.settings["tasks"][0]["notebook_task"]["notebook_path"] == "/Workspace/Shared/shop/hello"
    assert a.notebooks["t"] == tmp_path / "src" / "hello.py"


def test_resources_defined_beside_the_jobs_give_their_written_fields(tmp_path):
    job = ("resources:\n  schemas:\n    sales:\n      catalog_name: main\n      name: sales_${bundle.target}\n"
           "  volumes:\n    raw:\n      catalog_name: main\n      schema_name: ${resources.schemas.sales.name}\n"
           "      name: raw\n"
           "  jobs:\n    a:\n      description: ${resources.volumes.raw.schema_name}.${resources.volumes.raw.name}\n"
           + TASK)
    project(tmp_path, job)
    loaded = load(tmp_path)
    assert loaded.jobs["a"].settings["description"] == "sales_dev.raw"
    assert loaded.left_to_bundle == {"schemas": ["sales"], "volumes": ["raw"]}
    assert loaded.note() == "left to the bundle CLI (mlops deploys jobs only): schemas (sales); volumes (raw)"


@pytest.mark.parametrize("ref,needle", [
    ("${resources.pipelines.etl.id}", "the id of pipelines.etl is assigned when it is deployed"),
    ("${resources.jobs.other.url}", "a job's url is not known before deploy"),
    ("${resources.schemas.nope.name}", "no resource schemas.nope in the files"),
    ("${resources.schemas.sales.owner}", "schemas.sales has no field owner"),
    ("${resources.schemas}", "expected ${resources.<type>.<key>.<field>}"),
    ("${bundle.nonsense}", "unknown reference ${bundle.nonsense}"),
    ("${workspace.host}", "unknown reference ${workspace.host}"),
])
def test_references_that_cannot_be_known_before_deploy(tmp_path, ref, needle):
    job = ("resources:\n  schemas:\n    sales: {catalog_name: main, name: sales}\n"
           "  pipelines:\n    etl: {name: etl}\n"
           f"  jobs:\n    other:\n{TASK}    a:\n      description: '{ref}'\n" + TASK)
    project(tmp_path, job)
    with pytest.raises(ConfigError) as exc:
        load(tmp_path)
    assert needle in exc.value.message and ref in exc.value.message
    assert exc.value.path.endswith("a.yml") and exc.value.exit_code == 2


def test_a_variable_that_refers_to_itself_is_exit_2(tmp_path):
    bundle = "bundle: {name: shop}\nvariables:\n  a: {default: '${var.b}'}\n  b: {default: 'x${var.a}'}\n"
    project(tmp_path, "resources:\n  jobs:\n    a:\n      description: ${var.a}\n" + TASK, bundle)
    with pytest.raises(ConfigError) as exc:
        load(tmp_path)
    assert "refers to itself" in exc.value.message


def test_a_whole_string_reference_keeps_the_type():
    r = Resolver(target="dev", project="p", bundle_name=None, variables={"n": 3, "l": [1, 2]})
    where = Place(Path("x.yml"), {}, ())
    assert r.substitute({"a": "${var.n}", "b": "${var.l}", "c": "n=${var.n}"}, where) == {
        "a": 3, "b": [1, 2], "c": "n=3"}
    assert r.substitute("${bundle.name}/${bundle.target}", where) == "p/dev"


def test_anchor_carrier_keys_are_accepted_and_other_keys_are_not(tmp_path):
    job = ("common_permissions: &permissions\n  permissions:\n    - level: CAN_VIEW\n      group_name: users\n\n"
           "resources:\n  jobs:\n    a:\n      <<: *permissions\n" + TASK)
    project(tmp_path, job)
    a = load(tmp_path).jobs["a"]
    assert a.permissions == [{"group_name": "users", "permission_level": "CAN_VIEW"}]
    assert "permissions" not in a.settings
    (tmp_path / "resources" / "a.yml").write_text("common_permissions:\n  - x\nresources: {}\n")
    with pytest.raises(ConfigError) as exc:
        load(tmp_path)
    assert "common_permissions: unknown top-level key" in exc.value.message and exc.value.line == 1


def test_the_same_resource_in_two_files_is_exit_2(tmp_path):
    project(tmp_path, "resources:\n  jobs:\n    a:\n" + TASK)
    (tmp_path / "resources" / "b.yml").write_text("resources:\n  jobs:\n    a:\n" + TASK)
    with pytest.raises(ConfigError) as exc:
        load(tmp_path)
    assert "jobs 'a' is also defined in" in exc.value.message and exc.value.path.endswith("b.yml")


def test_a_job_id_reference_is_kept_for_deploy_and_cycles_are_exit_2(tmp_path):
    job = ("resources:\n  jobs:\n    child:\n" + TASK + "    parent:\n      tasks:\n        - task_key: run\n"
           "          run_job_task:\n            job_id: ${resources.jobs.child.id}\n")
    project(tmp_path, job)
    loaded = load(tmp_path)
    parent = loaded.jobs["parent"]
    assert parent.settings["tasks"][0]["run_job_task"]["job_id"] == "${resources.jobs.child.id}"
    assert parent.job_refs == {"child"} and loaded.jobs["child"].job_refs == set()
    cyclic = job.replace("    child:\n" + TASK, "    child:\n      tasks:\n        - task_key: run\n"
                         "          run_job_task:\n            job_id: ${resources.jobs.parent.id}\n")
    (tmp_path / "resources" / "a.yml").write_text(cyclic)
    with pytest.raises(ConfigError) as exc:
        load(tmp_path)
    assert "name each other's ids in a cycle" in exc.value.message
    (tmp_path / "resources" / "a.yml").write_text(job.replace("resources.jobs.child.id", "resources.jobs.parent.id"))
    with pytest.raises(ConfigError) as exc:
        load(tmp_path)
    assert "names its own id" in exc.value.message


def test_job_refs_fill_in_known_ids_and_order_creates():
    from devops_mlops.core.job_refs import order, refs_in, resolve

    s = {"tasks": [{"run_job_task": {"job_id": "${resources.jobs.a.id}"}}], "description": "after ${resources.jobs.b.id}"}
    assert refs_in(s) == {"a", "b"}
    assert resolve(s, {"a": 7}) == {"tasks": [{"run_job_task": {"job_id": 7}}], "description": "after ${resources.jobs.b.id}"}
    assert resolve(s, {"a": 7, "b": 8})["description"] == "after 8"
    assert order({"c": {"b"}, "b": {"a"}, "a": set(), "d": set()}) == [["a", "d"], ["b"], ["c"]]
    with pytest.raises(ValueError):
        order({"a": {"b"}, "b": {"a"}})
