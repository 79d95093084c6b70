"""The exceptions ``dbutils`` raises in a local kernel, named as Databricks names them."""

from __future__ import annotations


class NotebookExit(Exception):
    """dbutils.notebook.exit: ends the notebook successfully."""


class InputWidgetNotDefined(Exception):
    """dbutils.widgets.get of a widget the notebook did not define and no parameter gave."""


class SecretNotFound(Exception):
    """dbutils.secrets.get of a secret no MLOPS_SECRET_<SCOPE>__<KEY> variable holds."""


class WorkflowException(Exception):
    """dbutils.notebook.run: the child notebook failed."""


class SparkNotAvailable(RuntimeError):
    """``spark`` used in a kernel without pyspark."""


# a traceback names an exception by its module: the notebook sees them as the shim's, whichever of
# its modules defines them (`devops_mlops.kernel.shim.InputWidgetNotDefined`)
for _cls in (NotebookExit, InputWidgetNotDefined, SecretNotFound, WorkflowException, SparkNotAvailable):
    _cls.__module__ = __package__
del _cls
