"""devops-mlops: the MLOps lifecycle of a data squad as Azure DevOps pipelines on Databricks."""

__version__ = "0.1.0"
