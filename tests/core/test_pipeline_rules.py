"""Pure rules over Azure Pipelines YAML: expressions, expansion, script parsing, our checks."""

from __future__ import annotations

import pytest

from devops_mlops.core import pipeline_rules as r
from devops_mlops.core.pipeline_rules.expressions import Unknown, evaluate
from devops_mlops.core.pipeline_rules.resolve import Params
from devops_mlops.core.pipeline_rules.scripts import PLACEHOLDER, mlops_commands, subcommand
from devops_mlops.core.pipeline_rules.secrets import is_secret_name
from devops_mlops.yamlload import parse_with_lines

pytestmark = pytest.mark.fast


def doc(text: str, path: str = "p.yml") -> r.Doc:
    data, lines = parse_with_lines(text, path)
    return r.Doc(path, data, lines)


def run(*docs: r.Doc, templates: dict | None = None, skip_marker="[skip ci]", auto_paths=None, command=None):
    templates = templates or {}

    def load(_including, ref):
        return templates.get(ref)

    expanded = [r.expand(d, load) for d in docs]
    return r.check_all(
        expanded,
        pipelines={d.path for d in docs},
        check_command=command or (lambda args: []),
        skip_marker=skip_marker,
        auto_paths=auto_paths or [],
    )


def codes(findings):
    return sorted(f.code for f in findings)


@pytest.mark.parametrize(
    "expr, expected",
    [
        ("eq(parameters.auth, 'pat')", True),
        ("ne(parameters.auth, 'PAT')", False),  # string comparison ignores case
        ("and(parameters.flag, not(eq(parameters.auth, 'oidc')))", True),
        ("or(eq(parameters.auth, 'oidc'), false)", False),
        ("in(parameters.auth, 'x', 'pat')", True),
    ],
)
def test_evaluate(expr, expected):
    assert evaluate(expr, {"auth": "pat", "flag": True}) is expected


def test_evaluate_unknown_reference():
    with pytest.raises(Unknown):
        evaluate("eq(variables.x, 'a')", {})


def test_resolve_keeps_every_branch_without_params_and_maps_lines():
    d = doc("steps:\n- ${{ if eq(parameters.a, 'x') }}:\n  - script: one\n- script: two\n")
    origins: dict = {}
    out = r.resolve(d.data, r.Loc(d.path, d.lines, ()), None, origins)
    assert [s["script"] for s in out["steps"]] == ["one", "two"]
    assert r.origin(origins, ("steps", 0, "script")).line == 3
    assert r.origin(origins, ("steps", 1)).line == 4


def test_resolve_evaluates_conditions_and_substitutes_parameters():
    d = doc(
        "steps:\n"
        "- ${{ if eq(parameters.a, 'x') }}:\n  - script: echo ${{ parameters.a }}\n"
        "- ${{ else }}:\n  - script: other\n"
    )
    params = Params({"a": "x"}, {"a": r.Loc("caller.yml", {("a",): 9}, ("a",))})
    out = r.resolve(d.data, r.Loc(d.path, d.lines, ()), params, {})
    assert out["steps"] == [{"script": "echo x"}]


def test_whole_expression_becomes_wildcard():
    d = doc("steps:\n- checkout: self\n  persistCredentials: ${{ parameters.p }}\n")
    out = r.resolve(d.data, r.Loc(d.path, d.lines, ()), None, {}, wildcard=True)
    assert isinstance(out["steps"][0]["persistCredentials"], r.Expr)


def test_mlops_commands_found_in_scripts():
    text = (
        "set -e\n"
        "mlops --target $(t) test --junit $(Common.TestResultsDirectory)/x.xml && echo ok\n"
        "v=$(mlops --format json model status)\n"
        "FOO=1 mlops lint \\\n  --select E1 > out.txt\n"
        "python -m devops_mlops sync\n"
        "echo mlops is not a command here\n"
    )
    found = mlops_commands(text)
    assert [i for i, _ in found] == [1, 2, 3, 5]
    assert found[0][1][:2] == ["--target", PLACEHOLDER]
    assert found[2][1] == ["lint", "--select", "E1"]
    assert found[3][1] == ["sync"]


def test_subcommand_and_dry_run():
    assert subcommand(["--target", "x", "--dry-run", "commit", "a.py"]) == ("commit", True)
    assert subcommand(["--format", "json", "monitor"]) == ("monitor", False)


@pytest.mark.parametrize("name", ["DATABRICKS_TOKEN", "System.AccessToken", "ARM_CLIENT_SECRET", "dbPassword", "storageKey"])
def test_secret_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["ARM_CLIENT_ID", "DATABRICKS_HOST", "Build.SourceVersion", "results", "cacheKeyPrefix"])
def test_not_secret_names(name):
    assert not is_secret_name(name)


def test_secret_in_script_body_points_at_its_line():
    d = doc("trigger: none\nsteps:\n- bash: |\n    echo a\n    curl -u :$(System.AccessToken) x\n")
    (f,) = run(d)
    assert (f.code, f.line) == ("PL101", 5)
    assert "SYSTEM_ACCESSTOKEN" in f.message


def test_secret_through_env_is_fine_and_literal_secret_is_not():
    d = doc(
        "trigger: none\nvariables:\n- name: apiToken\n  value: abc123\n"
        "steps:\n- bash: echo $TOKEN\n  env:\n    TOKEN: $(apiToken)\n    DATABRICKS_TOKEN: dapi-literal\n"
    )
    found = run(d)
    assert codes(found) == ["PL102", "PL102"]
    assert sorted(f.line for f in found) == [4, 9]


def test_junit_needs_publish_with_succeeded_or_failed():
    d = doc(
        "trigger: none\nsteps:\n- bash: mlops test --junit t.xml\n"
        "- task: PublishTestResults@2\n  inputs: {testResultsFiles: t.xml}\n"
    )
    (f,) = run(d)
    assert (f.code, f.line) == ("PL103", 4)
    d2 = doc("trigger: none\nsteps:\n- bash: pytest --junitxml=u.xml\n")
    assert codes(run(d2)) == ["PL103"]


def test_schedule_only_rules():
    d = doc("schedules:\n- cron: '0 6 * * *'\n  always: true\nsteps:\n- bash: echo\n")
    assert codes(run(d)) == ["PL104"]  # no trigger: runs on every push
    d2 = doc("trigger: none\nschedules:\n- cron: '0 6 * * *'\nsteps:\n- bash: echo\n")
    assert codes(run(d2)) == ["PL104", "PL104"]  # no pr: none, no always: true
    d3 = doc("trigger: none\npr: none\nschedules:\n- cron: '0 6 * * *'\n  always: true\nsteps:\n- bash: echo\n")
    assert run(d3) == []


MONITOR = (
    "trigger: none\npr: none\nschedules:\n- cron: '0 6 * * *'\n  always: true\n"
    "steps:\n- checkout: self\n  persistCredentials: true\n- bash: mlops monitor\n"
)


def test_push_with_guard_passes_and_other_pipelines_must_exclude_the_paths():
    release_ok = doc("trigger:\n  branches: {include: [main]}\n  paths: {exclude: [notebooks]}\nsteps:\n- bash: mlops deploy\n",
                     "release.yml")
    assert run(doc(MONITOR, "monitoring.yml"), release_ok, auto_paths=["notebooks/retrain.py"]) == []
    release_bad = doc("trigger: [main]\nsteps:\n- bash: mlops deploy\n", "release.yml")
    (f,) = run(doc(MONITOR, "monitoring.yml"), release_bad)
    assert (f.path, f.code, f.line) == ("release.yml", "PL105", 1)
    release_partial = doc("trigger:\n  paths: {exclude: [docs]}\nsteps:\n- bash: mlops deploy\n", "release.yml")
    (f,) = run(doc(MONITOR, "monitoring.yml"), release_partial, auto_paths=["notebooks/retrain.py"])
    assert "notebooks/retrain.py" in f.message


def test_push_without_marker_or_credentials():
    d = doc("trigger: none\nsteps:\n- bash: mlops commit notebooks/a.py\n")
    found = run(d, skip_marker="")
    assert codes(found) == ["PL105", "PL105"]  # no marker, no credentials
    dry = doc("trigger: none\nsteps:\n- bash: mlops --dry-run commit notebooks/a.py\n")
    assert run(dry, skip_marker="") == []
    after = doc("trigger: none\nsteps:\n- bash: mlops commit notebooks/a.py --dry-run\n")
    assert run(after, skip_marker="") == []
    local = doc("trigger: none\nsteps:\n- bash: mlops monitor --no-push\n")  # commits stay on the agent
    assert run(local, skip_marker="") == []
    git = doc("trigger: none\nsteps:\n- checkout: self\n  persistCredentials: true\n"
              "- bash: |\n    git commit -m 'retrain [skip ci]'\n    git push origin HEAD:refs/heads/main\n")
    assert run(git) == []


def test_templates_expand_with_parameters_and_report_mismatches():
    tpl = doc(
        "parameters:\n- name: script\n  type: string\n- name: mode\n  type: string\n  default: a\n  values: [a, b]\n"
        "steps:\n- bash: ${{ parameters.script }}\n",
        "t.yml",
    )
    seen = []

    def command(args):
        seen.append(args)
        return [("PL106", "bad")] if "--bogus" in args else []

    p = doc("trigger: none\nsteps:\n- template: t.yml\n  parameters:\n    script: mlops lint --bogus\n    mode: c\n"
            "    extra: 1\n- template: gone.yml\n", "p.yml")
    found = run(p, templates={"t.yml": tpl}, command=command)
    assert seen == [["lint", "--bogus"]]
    by = {(f.code, f.line) for f in found}
    # the command line is reported where it was written: the pipeline's parameter value
    assert ("PL106", 5) in by and ("PL109", 6) in by and ("PL109", 7) in by and ("PL108", 8) in by
    missing = doc("trigger: none\nsteps:\n- template: t.yml\n", "q.yml")
    assert codes(run(missing, templates={"t.yml": tpl})) == ["PL109"]
