import textwrap

import pytest

from devops_mlops import console
from devops_mlops.config import find_config, load_config
from devops_mlops.errors import ConfigError, InputError, UsageError

pytestmark = pytest.mark.fast


def write(tmp_path, text, name="mlops.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


BASE = """\
project: toll-demand
model: {name: toll_demand}
"""


def test_minimal_config_has_a_local_default_target(tmp_path):
    cfg = load_config(write(tmp_path, BASE))
    assert cfg.project == "toll-demand"
    assert cfg.target().backend == "local" and cfg.target().name == "local"
    assert cfg.notebooks_dir == tmp_path.resolve() / "notebooks"
    assert cfg.monitoring.max_retrains == 3


def test_found_in_parent_folders(tmp_path, monkeypatch):
    write(tmp_path, BASE)
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert find_config() == (tmp_path / "mlops.yaml").resolve()


def test_no_config_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as err:
        find_config()
    assert err.value.exit_code == 2


def test_unknown_key_names_the_key_path_and_line(tmp_path):
    path = write(tmp_path, BASE + "targets:\n  local:\n    backend: local\n    hots: x\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "targets.local.hots" in err.value.message and "unknown key" in err.value.message
    assert err.value.line == 6 and err.value.path == str(path)


def test_wrong_type_names_the_line(tmp_path):
    path = write(tmp_path, BASE + "monitoring:\n  max_retrains: three\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.line == 4
    assert "monitoring.max_retrains: expected an integer" in err.value.message


def test_enum_and_cross_field_checks(tmp_path):
    with pytest.raises(ConfigError, match="expected one of 'local', 'databricks'"):
        load_config(write(tmp_path, BASE + "targets:\n  x: {backend: spark}\n"))
    with pytest.raises(ConfigError, match="workspace_dir"):
        load_config(write(tmp_path, BASE + "targets:\n  x: {backend: databricks}\n"))
    with pytest.raises(ConfigError, match="cron"):
        load_config(write(tmp_path, BASE + "monitoring: {schedule: 'every day'}\n"))


def test_env_references_and_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("WS_HOST", "https://adb-1.azuredatabricks.net")
    path = write(
        tmp_path,
        BASE
        + "targets:\n  local: {backend: local}\n  staging:\n    backend: databricks\n"
        "    host: ${WS_HOST}\n    workspace_dir: ${WS_DIR:-/Workspace/Shared/toll}\n",
    )
    staging = load_config(path).target("staging")
    assert staging.host == "https://adb-1.azuredatabricks.net"
    assert staging.workspace_dir == "/Workspace/Shared/toll"
    # values that came from the environment are masked everywhere
    assert console.mask("host is https://adb-1.azuredatabricks.net") == "host is ***"


def test_missing_env_only_fails_for_the_target_used(tmp_path):
    path = write(
        tmp_path,
        BASE + "targets:\n  local: {backend: local}\n  prod:\n    backend: databricks\n"
        "    host: ${NOT_SET_ANYWHERE}\n    workspace_dir: /Workspace/p\n",
    )
    cfg = load_config(path)
    assert cfg.target().name == "local"
    with pytest.raises(ConfigError) as err:
        cfg.target("prod")
    assert "NOT_SET_ANYWHERE" in err.value.message and err.value.line == 7


def test_unknown_target_and_two_defaults(tmp_path):
    cfg = load_config(write(tmp_path, BASE))
    with pytest.raises(UsageError, match="no target 'nope'"):
        cfg.target("nope")
    with pytest.raises(ConfigError, match="more than one target"):
        load_config(write(tmp_path, BASE + "targets:\n  a: {default: true}\n  b: {default: true}\n"))


def test_default_true_picks_the_target(tmp_path):
    cfg = load_config(
        write(tmp_path, BASE + "targets:\n  local: {}\n  dev: {backend: local, default: true}\n")
    )
    assert cfg.target().name == "dev"


@pytest.mark.parametrize(
    "text, line",
    [("project: [unclosed\n", 2), ("a: 1\na: 2\n", 2), ("- just\n- a list\n", 1), ("", 1)],
)
def test_malformed_yaml_names_file_and_line(tmp_path, text, line):
    path = write(tmp_path, text)
    with pytest.raises((InputError, ConfigError)) as err:
        load_config(path)
    assert err.value.path == str(path)
    assert err.value.line == line
    assert err.value.exit_code == 2


def test_loader_owned_fields_are_not_config_keys(tmp_path):
    with pytest.raises(ConfigError, match="unknown key 'path'"):
        load_config(write(tmp_path, BASE + "path: /etc\n"))
    with pytest.raises(ConfigError, match="unknown key 'name'"):
        load_config(write(tmp_path, BASE + "targets:\n  local: {name: x}\n"))


def test_the_reference_page_documents_every_key():
    import dataclasses
    import typing
    from pathlib import Path

    from devops_mlops import config as c

    doc = (Path(__file__).resolve().parents[1] / "docs" / "config.md").read_text()
    missing = []
    seen = set()

    def walk(cls):
        if cls in seen:
            return
        seen.add(cls)
        for f in dataclasses.fields(cls):
            if not f.init:
                continue
            key = f.metadata.get("alias", f.name)
            if f"`{key}`" not in doc:
                missing.append(f"{cls.__name__}.{key}")
            for t in [typing.get_type_hints(cls)[f.name], *typing.get_args(typing.get_type_hints(cls)[f.name])]:
                for inner in [t, *typing.get_args(t)]:
                    if dataclasses.is_dataclass(inner):
                        walk(inner)

    walk(c.Config)
    assert not missing, f"docs/config.md does not mention: {missing}"


def test_a_target_names_its_own_model_and_variables_resolve_in_it(tmp_path):
    from devops_mlops.context import Context
    from devops_mlops.errors import ConfigError

    (tmp_path / "mlops.yaml").write_text(
        "project: p\nmodel: {name: demand, label: y}\nvariables: {catalog: main}\ntargets:\n"
        "  local: {default: true}\n"
        "  staging:\n    backend: databricks\n    workspace_dir: /Shared/p\n    registry_uri: databricks-uc\n"
        "    variables: {catalog: stg}\n    model:\n      name: ${var.catalog}.ml.demand\n"
        "  prod:\n    backend: databricks\n    workspace_dir: /Shared/p\n    registry_uri: databricks-uc\n"
        "  typo:\n    backend: databricks\n    workspace_dir: /Shared/p\n    model: {name: '${var.nope}.ml.x'}\n")
    cfg = load_config(tmp_path / "mlops.yaml")
    staging = Context(cfg, cfg.target("staging")).config
    assert staging.model.name == "stg.ml.demand" and staging.model.label == "y"
    assert Context(cfg, cfg.target("local")).config.model.name == "demand" == cfg.model.name
    with pytest.raises(ConfigError) as err:
        Context(cfg, cfg.target("prod"))
    assert err.value.exit_code == 2 and err.value.line == 2 and "<catalog>.<schema>.<model>" in err.value.message
    with pytest.raises(ConfigError) as err:
        Context(cfg, cfg.target("typo"))
    assert err.value.line == 20 and "no variable 'nope'" in err.value.message
