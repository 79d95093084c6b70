# Databricks notebook source
# MAGIC %md
# MAGIC # Register the retrained candidate
# MAGIC A step of the Data Factory retrain pipeline: registers the `candidate` (the retrain notebook's exit
# MAGIC value) as a new version of the model (once: a re-run finds it) and passes it through the gate.

# COMMAND ----------

dbutils.widgets.text("target", "")
dbutils.widgets.text("candidate", "")
dbutils.widgets.text("attempt", "")

# COMMAND ----------

import json

from devops_mlops.runtime import api, candidates

s = api.session(dbutils.widgets.get("target"))
result = candidates.register_candidate(s, dbutils.widgets.get("candidate"), attempt=dbutils.widgets.get("attempt"))
print(f"registered {s.model_name} v{result['version']} from {result['candidate']}: gate passed")

# COMMAND ----------

dbutils.notebook.exit(json.dumps(result, default=str))
