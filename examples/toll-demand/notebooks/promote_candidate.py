# Databricks notebook source
# MAGIC %md
# MAGIC # Promote the retrained candidate
# MAGIC A step of the Data Factory retrain pipeline: gives the version the register step made of the
# MAGIC `candidate` the production slot (gated again on the window it was evaluated on).

# COMMAND ----------

dbutils.widgets.text("target", "")
dbutils.widgets.text("candidate", "")

# COMMAND ----------

import json

from devops_mlops.runtime import api, candidates

s = api.session(dbutils.widgets.get("target"))
candidate = dbutils.widgets.get("candidate")
result = s.promote(candidates.candidate_version(s, candidate), batch=candidates.parse_candidate(candidate).get("eval_batch"))
print(result["message"])

# COMMAND ----------

dbutils.notebook.exit(json.dumps(result, default=str))
