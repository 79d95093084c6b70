# Databricks notebook source
# MAGIC %md
# MAGIC # Commit the retrain notebook
# MAGIC A step of the Data Factory retrain pipeline: commits `monitoring.retrain_notebook` and its provenance
# MAGIC record (the registered candidate, its metrics against production's, the data window) with `[skip ci]`.

# COMMAND ----------

dbutils.widgets.text("target", "")
dbutils.widgets.text("candidate", "")

# COMMAND ----------

import json

from devops_mlops.runtime import api, candidates

s = api.session(dbutils.widgets.get("target"))
result = candidates.commit_candidate(s, dbutils.widgets.get("candidate"))
print(f"v{result.get('version')}: commit {result.get('commit') or result.get('detail') or 'no changes'}")

# COMMAND ----------

dbutils.notebook.exit(json.dumps(result, default=str))
