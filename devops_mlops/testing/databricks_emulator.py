"""Where tests and benchmarks import the Databricks emulator from: it lives in the package
:mod:`devops_mlops.testing.databricks`, one module per API area."""

from .databricks import DatabricksEmulator, sample_project

__all__ = ["DatabricksEmulator", "sample_project"]
