"""The MLOps lifecycle's own library: the data, the stages the notebooks call
(extract, prepare, features, train, evaluate) and the table access they share.

Notebooks stay short by calling these functions; the same code runs on this
machine (pandas + deltalake) and on Databricks (Spark tables through
:mod:`devops_mlops.runtime.tables`).
"""
