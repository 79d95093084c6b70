# Databricks notebook source
# MAGIC %md
# MAGIC # Training
# MAGIC Trains on the labelled batches before the latest one, evaluates on the latest, logs the run
# MAGIC to MLflow (parameters, metrics, data window, git commit, model with signature) and registers it.

# COMMAND ----------

dbutils.widgets.text("target", "")
dbutils.widgets.dropdown("register", "true", ["true", "false"])

# COMMAND ----------

import json

from devops_mlops.runtime import api
from toll_demand import training

s = api.session(dbutils.widgets.get("target"))
result = training.train(s, register=dbutils.widgets.get("register") == "true")
if result.get("version"):
    dbutils.jobs.taskValues.set("version", result["version"])
print({k: result[k] for k in ("run_id", "version", "metrics", "train_batches", "eval_batch")})

# COMMAND ----------

dbutils.notebook.exit(json.dumps(result, default=str))
