# Databricks notebook source
# MAGIC %md
# MAGIC # Re-score with the retrained version
# MAGIC A step of the Data Factory retrain pipeline: scores the batches waiting for labels (after the
# MAGIC window the `candidate` was evaluated on) again with the version the register step made of it.

# COMMAND ----------

dbutils.widgets.text("target", "")
dbutils.widgets.text("candidate", "")

# COMMAND ----------

import json

from devops_mlops.runtime import api, candidates

s = api.session(dbutils.widgets.get("target"))
candidate = dbutils.widgets.get("candidate")
result = candidates.rescore_waiting(
    s, candidates.candidate_version(s, candidate), after=candidates.parse_candidate(candidate).get("eval_batch")
)
print(f"re-scored batch(es) {result['batches'] or '-'} with v{result['version']}")

# COMMAND ----------

dbutils.notebook.exit(json.dumps(result, default=str))
