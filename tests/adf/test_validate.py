"""The validator's rules, each shown on a pipeline that breaks it."""

from __future__ import annotations

import json

import pytest

from devops_mlops.adf.validate import validate

pytestmark = pytest.mark.fast


def nb(name, deps=()):
    return {"name": name, "type": "DatabricksNotebook",
            "dependsOn": [{"activity": d, "dependencyConditions": ["Succeeded"]} for d in deps],
            "typeProperties": {"notebookPath": "/x"},
            "linkedServiceName": {"referenceName": "dbx", "type": "LinkedServiceReference"}}


def ls():
    return {"dbx": {"name": "dbx", "properties": {"type": "AzureDatabricks", "typeProperties": {
        "domain": "https://adb.net", "authentication": "MSI", "workspaceResourceId": "/w", "existingClusterId": "c"}}}}


def until(acts):
    return {"name": "loop", "type": "Until", "typeProperties": {
        "expression": {"value": "@true", "type": "Expression"}, "timeout": "0.01:00:00", "activities": acts}}


def if_(acts, name="if"):
    return {"name": name, "type": "IfCondition", "typeProperties": {
        "expression": {"value": "@true", "type": "Expression"}, "ifTrueActivities": acts}}


def check(activities, variables=None, parameters=None, extra_pipelines=None, linked=None):
    res = {"pipeline": {"p": {"name": "p", "properties": {"activities": activities, "variables": variables or {},
                                                          "parameters": parameters or {}}},
                        **(extra_pipelines or {})},
           "linkedService": ls() if linked is None else linked, "trigger": {}}
    return [str(p) for p in validate(res)]


def test_a_good_pipeline_passes():
    assert check([nb("a"), nb("b", ["a"]), if_([nb("c")])]) == []


@pytest.mark.parametrize("inner", ["Until", "ForEach", "IfCondition", "Switch"])
def test_no_container_inside_an_if_condition(inner):
    kid = {"Until": until([nb("x")]), "IfCondition": if_([nb("x")], "inner"),
           "ForEach": {"name": "fe", "type": "ForEach", "typeProperties": {"items": {"value": "@createArray(1)", "type": "Expression"}, "activities": [nb("x")]}},
           "Switch": {"name": "sw", "type": "Switch", "typeProperties": {"on": {"value": "@'a'", "type": "Expression"}, "cases": []}}}[inner]
    problems = check([if_([kid])])
    assert any(f"a {inner} cannot be inside an IfCondition or Switch" in p for p in problems)


def test_no_loop_inside_a_loop_even_deeper():
    assert any("cannot be inside an Until or ForEach" in p for p in check([until([until([nb("x")])])]))


def test_an_if_condition_inside_until_is_allowed():
    assert check([until([if_([nb("x")])])]) == []


def test_set_variable_cannot_read_itself():
    act = {"name": "inc", "type": "SetVariable", "typeProperties": {
        "variableName": "n", "value": {"value": "@string(add(int(variables('n')), 1))", "type": "Expression"}}}
    problems = check([act], variables={"n": {"type": "String"}})
    assert any("reads 'n' itself" in p for p in problems)


def test_undeclared_variable_parameter_and_activity():
    act = {"name": "s", "type": "SetVariable", "typeProperties": {
        "variableName": "v", "value": "@concat(variables('w'), pipeline().parameters.q, activity('nope').output)"}}
    problems = check([act])
    assert any("sets undeclared variable 'v'" in p for p in problems)
    assert any("reads undeclared variable 'w'" in p for p in problems)
    assert any("undeclared pipeline parameter 'q'" in p for p in problems)
    assert any("unknown activity 'nope'" in p for p in problems)


def test_base_class_type_names_are_rejected():
    bad = dict(nb("a"), type="Execution")
    assert any("'Execution' is not a Data Factory activity type" in p for p in check([bad]))
    assert any("'Container'" in p for p in check([dict(if_([]), type="Container")]))
    res = {"pipeline": {}, "linkedService": {"l": {"properties": {"typeProperties": {}}}},
           "trigger": {"t": {"properties": {"type": "MultiplePipelineTrigger"}}}}
    problems = [str(p) for p in validate(res)]
    assert any("linkedService/l: type None" in p for p in problems)
    assert any("'MultiplePipelineTrigger' is not a Data Factory trigger type" in p for p in problems)


def test_the_sdk_models_of_10_0_0_would_break_the_rules():
    """Why the JSON is written by hand: the SDK's own serialization loses the type names."""
    from azure.mgmt.datafactory import models as m
    from azure.mgmt.datafactory._utils.model_base import SdkJSONEncoder

    p = m.PipelineResource(properties=m.Pipeline(activities=[m.DatabricksNotebookActivity(
        name="a", notebook_path="/x",
        linked_service_name=m.LinkedServiceReference(type="LinkedServiceReference", reference_name="dbx"))]))
    doc = json.loads(json.dumps(p, cls=SdkJSONEncoder, exclude_readonly=True))
    problems = check(doc["properties"]["activities"])
    if doc["properties"]["activities"][0]["type"] == "DatabricksNotebook":
        pytest.skip("this azure-mgmt-datafactory serializes the real type name")
    assert any("not a Data Factory activity type" in p for p in problems)


def test_dependencies_and_references():
    problems = check([nb("a", ["ghost"])])
    assert any("dependsOn 'ghost'" in p for p in problems)
    assert any("cycle" in p for p in check([nb("a", ["b"]), nb("b", ["a"])]))
    assert any("used twice" in p for p in check([nb("a"), if_([nb("a")])]))
    assert any("is not defined" in p for p in check([nb("a")], linked={}))
    call = {"name": "c", "type": "ExecutePipeline", "typeProperties": {"pipeline": {"referenceName": "other", "type": "PipelineReference"}}}
    assert any("unknown pipeline 'other'" in p for p in check([call]))
    assert any("at most 55" in p for p in check([nb("x" * 56)]))
    assert any("80 per pipeline" in p for p in check([nb(f"a{i}") for i in range(81)]))


def test_no_literal_token():
    linked = ls()
    linked["dbx"]["properties"]["typeProperties"] = {"domain": "https://adb", "accessToken": "dapi" + "0" * 32,
                                                     "existingClusterId": "c"}
    problems = check([nb("a")], linked=linked)
    assert any("AzureKeyVaultSecret reference (never a literal token)" in p for p in problems)
    assert any("literal Databricks token" in p for p in problems)
