"""dbutils.widgets in a local kernel: a widget's value comes from ``--param``, then the job's
parameters, then its default; inside a ``%run`` target, from the arguments it was run with first.
"""

from __future__ import annotations

from . import state
from .errors import InputWidgetNotDefined


def _lookup(name: str):
    """A widget's value by precedence, ``state.MISSING`` when nothing gives one."""
    for frame in reversed(state.param_stack):
        if name in frame:
            return str(frame[name])
    params = state.cfg.get("params") or {}
    if name in params:
        return str(params[name])
    job = state.cfg.get("job_params") or {}
    if name in job:
        return str(job[name])
    if name in state.widgets:
        return state.widgets[name]["default"]
    return state.MISSING


class Widgets:
    """dbutils.widgets: values come from --param, then the job's parameters, then the default."""

    def _define(self, kind, name, defaultValue, choices=None, label=None):
        if not isinstance(name, str) or not name:
            raise ValueError("a widget needs a name")
        if choices is not None:
            choices = [str(c) for c in choices]
            defaults = str(defaultValue).split(",") if kind == "multiselect" else [str(defaultValue)]
            for d in defaults:
                if d not in choices and kind != "combobox":
                    raise ValueError(f"default value {d!r} of widget {name!r} is not one of its choices {choices}")
        state.widgets[name] = {"kind": kind, "default": "" if defaultValue is None else str(defaultValue), "choices": choices, "label": label}

    def text(self, name, defaultValue="", label=None):
        self._define("text", name, defaultValue, None, label)

    def dropdown(self, name, defaultValue, choices, label=None):
        self._define("dropdown", name, defaultValue, choices, label)

    def combobox(self, name, defaultValue, choices, label=None):
        self._define("combobox", name, defaultValue, choices, label)

    def multiselect(self, name, defaultValue, choices, label=None):
        self._define("multiselect", name, defaultValue, choices, label)

    def get(self, name):
        value = _lookup(name)
        if value is state.MISSING:
            raise InputWidgetNotDefined(f"No input widget named {name} is defined")
        w = state.widgets.get(name)
        if w and w["kind"] == "dropdown" and value not in w["choices"]:
            raise ValueError(f"value {value!r} of widget {name!r} is not one of its choices {w['choices']}")
        return value

    def getArgument(self, name, defaultValue=None):
        value = _lookup(name)
        return defaultValue if value is state.MISSING else value

    def getAll(self):
        names = list(state.widgets)
        for source in ((state.cfg.get("job_params") or {}), (state.cfg.get("params") or {}), *state.param_stack):
            names += [n for n in source if n not in names]
        return {n: _lookup(n) for n in names}

    def remove(self, name):
        if name not in state.widgets:
            raise InputWidgetNotDefined(f"No input widget named {name} is defined")
        del state.widgets[name]

    def removeAll(self):
        state.widgets.clear()

    def help(self, *a):
        print("dbutils.widgets (local emulation by mlops): text, dropdown, combobox, multiselect, get, getAll, "
              "getArgument, remove, removeAll")


def getArgument(name, defaultValue=None):
    """The notebook global ``getArgument``: a widget's value, or ``defaultValue``."""
    return Widgets().getArgument(name, defaultValue)
