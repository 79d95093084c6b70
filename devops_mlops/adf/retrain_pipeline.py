"""The retrain pipeline of the monitoring export: a bounded loop of retrain tries, each re-checked,
then the improvement steps (register, promote, commit, score) or the alert (Teams, an alert notebook,
and a failed run unless ``monitoring.warn_only``).
"""

from __future__ import annotations

import json
from typing import Any

from .. import console
from ..config import Config
from .activities import UNTIL_TIMEOUT, after, expression, notebook_activity, set_variable
from .resources import Export

#: the steps that run, in this order, when a try brought the metrics back in range
IMPROVE_STEPS = ("register", "promote", "commit", "score")


def _loop(notebooks: dict[str, str | None], common: dict[str, str], linked: str) -> list[dict]:
    """One try: count it, retrain, re-check the candidate, keep it, and note whether it is in range."""
    return [
        set_variable("next_try", "tries_next", "@string(add(int(variables('tries')), 1))"),
        set_variable("count_try", "tries", "@variables('tries_next')", after("next_try")),
        notebook_activity("retrain", notebooks["retrain"], linked,
                          {**common, "attempt": "@variables('tries')",
                           "max_retrains": "@string(pipeline().parameters.max_retrains)"}, after("count_try")),
        notebook_activity("recheck", notebooks["check"], linked,
                          {**common, "mode": "recheck", "attempt": "@variables('tries')",
                           "candidate": "@string(activity('retrain').output.runOutput)"}, after("retrain")),
        set_variable("keep_candidate", "candidate", "@string(activity('retrain').output.runOutput)",
                     after("recheck")),
        set_variable("set_improved", "improved",
                     "@not(contains(toLower(string(activity('recheck').output.runOutput)), 'violation'))",
                     after("keep_candidate")),
    ]


def _improve(notebooks: dict[str, str | None], common: dict[str, str], linked: str) -> list[dict]:
    """The improvement steps that have a notebook, each after the one before."""
    improve: list[dict] = []
    for step in IMPROVE_STEPS:
        if notebooks[step]:
            improve.append(notebook_activity(step, notebooks[step], linked,
                                             {**common, "candidate": "@variables('candidate')",
                                              "attempt": "@variables('tries')"},
                                             after(improve[-1]["name"]) if improve else []))
    return improve


def _teams_card(config: Config) -> str:
    """The Adaptive Card message posted to Teams when no try helped."""
    text = (f"Model {config.model.name} needs retraining: @{{variables('tries')}} retraining tries did not bring "
            f"the monitoring metrics back in range. Data Factory @{{pipeline().DataFactory}}, pipeline "
            f"@{{pipeline().Pipeline}}, run @{{pipeline().RunId}}.")
    card = {"type": "message", "attachments": [{
        "contentType": "application/vnd.microsoft.card.adaptive",
        "content": {"type": "AdaptiveCard", "version": "1.4",
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "body": [{"type": "TextBlock", "size": "Medium", "weight": "Bolder",
                              "text": f"{config.project}: model needs retraining"},
                             {"type": "TextBlock", "wrap": True, "text": text}]}}]}
    return json.dumps(card, separators=(",", ":"))


def _alert(config: Config, exp: Export, name: str, notebooks: dict[str, str | None], common: dict[str, str],
           linked: str, params: dict[str, Any]) -> list[dict]:
    """The activities that raise the alert. A Teams URL that came from an ``${ENV}`` reference is a secret:
    it becomes a SecureString parameter of the pipeline (added to ``params``), kept out of the files."""
    m = config.monitoring
    alert: list[dict] = []
    teams = [a for a in config.alerts if a.kind == "teams" and a.url]
    if teams:
        url = teams[0].url
        if console.mask(url) != url:  # came from an ${ENV} reference: a secret, kept out of the files
            params["teams_webhook_url"] = {"type": "SecureString"}
            exp.secret_parameters[(name, "teams_webhook_url")] = url
            url_value: Any = expression("@pipeline().parameters.teams_webhook_url")
        else:
            url_value = url
        alert.append({"name": "alert_teams", "type": "WebActivity", "dependsOn": [], "userProperties": [],
                      "policy": {"timeout": "0.00:05:00", "retry": 2, "retryIntervalInSeconds": 30,
                                 "secureOutput": False, "secureInput": True},
                      "typeProperties": {"method": "POST", "url": url_value,
                                         "headers": {"Content-Type": "application/json"},
                                         "body": expression(_teams_card(config))}})
    if notebooks["alert"]:
        alert.append(notebook_activity("alert", notebooks["alert"], linked,
                                       {**common, "attempts": "@variables('tries')",
                                        "check_output": "@pipeline().parameters.check_output"}))
    if not alert and m.warn_only:
        exp.warnings.append("no Teams alert and no monitoring.alert_notebook: with warn_only the retrain pipeline "
                            "ends quietly when no try helps")
    if not m.warn_only:
        alert.append({"name": "needs_retraining", "type": "Fail", "userProperties": [],
                      "dependsOn": after(*[a["name"] for a in alert], conditions=("Completed",)),
                      "typeProperties": {"message": expression(
                          f"@concat('model {config.model.name} needs retraining: ', variables('tries'), "
                          f"' tries did not bring the metrics back in range')"), "errorCode": "MLOPS_NEEDS_RETRAINING"}})
    return alert


def add_retrain_pipeline(config: Config, exp: Export, name: str, notebooks: dict[str, str | None],
                         common: dict[str, str], linked: str) -> None:
    """Add the retrain pipeline ``name``: up to ``max_retrains`` tries until one is in range, then the
    improvement steps if one was, else the alert; with ``max_retrains: 0``, the alert at once."""
    m = config.monitoring
    params: dict[str, Any] = {"max_retrains": {"type": "Int", "defaultValue": m.max_retrains},
                              "check_output": {"type": "String", "defaultValue": ""}}
    loop = _loop(notebooks, common, linked)
    improve = _improve(notebooks, common, linked)
    alert = _alert(config, exp, name, notebooks, common, linked, params)
    if m.max_retrains > 0:
        activities = [
            {"name": "retrain_loop", "type": "Until", "dependsOn": [], "userProperties": [],
             "typeProperties": {"expression": expression(
                 "@or(variables('improved'), greaterOrEquals(int(variables('tries')), pipeline().parameters.max_retrains))"),
                 "timeout": UNTIL_TIMEOUT, "activities": loop}},
            {"name": "if_improved", "type": "IfCondition", "dependsOn": after("retrain_loop"), "userProperties": [],
             "typeProperties": {"expression": expression("@variables('improved')"),
                                **({"ifTrueActivities": improve} if improve else {}),
                                **({"ifFalseActivities": alert} if alert else {})}},
        ]
        variables = {"tries": {"type": "String", "defaultValue": "0"},
                     "tries_next": {"type": "String", "defaultValue": "0"},
                     "improved": {"type": "Bool", "defaultValue": False},
                     "candidate": {"type": "String", "defaultValue": ""}}
    else:  # no tries allowed: straight to the alert
        activities = alert or [{"name": "no_retrain", "type": "Wait", "dependsOn": [], "userProperties": [],
                                "typeProperties": {"waitTimeInSeconds": 1}}]
        for a in activities:
            if a["name"] == "needs_retraining":
                a["dependsOn"] = after(*[x["name"] for x in activities if x is not a], conditions=("Completed",))
        variables = {"tries": {"type": "String", "defaultValue": "0"}}
    exp.add("pipeline", name, {
        "description": f"Retrain {config.model.name} at most {m.max_retrains} times until the metrics are back in "
                       "range; then register, promote, commit and score, or alert. Generated by mlops.",
        "activities": activities, "parameters": params, "variables": variables,
        "annotations": ["mlops", f"mlops_project:{config.project}", "mlops_monitoring"],
        "folder": {"name": f"mlops/{config.project}"}})
