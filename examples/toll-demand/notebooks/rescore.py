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

from devops_mlops.lifecycle import stages
from devops_mlops.lifecycle.session import open_session

s = open_session(dbutils.widgets.get("target"))
candidate = dbutils.widgets.get("candidate")
result = stages.rescore_waiting(
    s, stages.candidate_version(s, candidate), after=stages.parse_candidate(candidate).get("eval_batch")
)
print(f"re-scored batch(es) {result['batches'] or '-'} with v{result['version']}")

# COMMAND ----------

dbutils.notebook.exit(json.dumps(result, default=str))
