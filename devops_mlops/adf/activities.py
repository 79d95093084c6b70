"""The building blocks of generated pipelines: Databricks notebook activities, dependencies between
activities, expressions and literals, and Data Factory's timeout format.
"""

from __future__ import annotations

NOTEBOOK_TIMEOUT = "0.12:00:00"
UNTIL_TIMEOUT = "1.00:00:00"


def linked_service_ref(name: str) -> dict:
    """A reference to a linked service by name."""
    return {"referenceName": name, "type": "LinkedServiceReference"}


def expression(value: str) -> dict:
    """A property computed by Data Factory at run time (``@…``)."""
    return {"value": value, "type": "Expression"}


def literal(value: str) -> str:
    """A literal string for a Data Factory property: a leading '@' is escaped as '@@'."""
    return "@" + value if value.startswith("@") else value


def timeout(seconds: int | None) -> str:
    """A task's timeout in seconds as Data Factory writes one (``d.hh:mm:ss``, at most 7 days);
    no timeout gives the notebook default."""
    if not seconds:
        return NOTEBOOK_TIMEOUT
    days, rest = divmod(int(seconds), 86400)
    days = min(days, 7)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    return f"{days}.{h:02d}:{m:02d}:{s:02d}"


def notebook_activity(name: str, path: str, linked_service: str, params: dict[str, str],
                      depends: list[dict] | None = None, *, timeout: str = NOTEBOOK_TIMEOUT,
                      retry: int = 0, retry_interval: int = 30) -> dict:
    """A DatabricksNotebook activity running the workspace notebook ``path`` with ``params`` as widgets."""
    return {
        "name": name,
        "type": "DatabricksNotebook",
        "dependsOn": depends or [],
        "policy": {"timeout": timeout, "retry": retry, "retryIntervalInSeconds": retry_interval,
                   "secureOutput": False, "secureInput": False},
        "userProperties": [],
        "typeProperties": {"notebookPath": path, "baseParameters": params},
        "linkedServiceName": linked_service_ref(linked_service),
    }


def after(*names: str, conditions: tuple[str, ...] = ("Succeeded",)) -> list[dict]:
    """``dependsOn`` entries: run once each named activity ended in one of ``conditions``."""
    return [{"activity": n, "dependencyConditions": list(conditions)} for n in names]


def set_variable(name: str, variable: str, value: str, depends: list[dict] | None = None) -> dict:
    """A SetVariable activity giving ``variable`` the expression ``value``."""
    return {"name": name, "type": "SetVariable", "dependsOn": depends or [], "userProperties": [],
            "typeProperties": {"variableName": variable, "value": expression(value)}}
