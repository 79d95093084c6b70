# Databricks notebook source
# MAGIC %md
# MAGIC # Model validation (the gate)
# MAGIC Evaluates the candidate version and the production model on the latest labelled batch
# MAGIC against `promotion.thresholds` / `min_improvement`; fails the task when the gate fails.

# COMMAND ----------

dbutils.widgets.text("target", "")
dbutils.widgets.text("version", "")  # empty: the version the train task registered

# COMMAND ----------

import json

from devops_mlops.runtime import api

s = api.session(dbutils.widgets.get("target"))
version = dbutils.widgets.get("version") or dbutils.jobs.taskValues.get("train", "version", default=0, debugValue=0)
result = s.gate(int(version))
dbutils.jobs.taskValues.set("version", int(version))
print(result["gate"])

# COMMAND ----------

dbutils.notebook.exit(json.dumps(result, default=str))
