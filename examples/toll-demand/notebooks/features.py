# Databricks notebook source
# MAGIC %md
# MAGIC # Feature engineering
# MAGIC Builds the feature table `traffic_features` (key, batch_id, model inputs) from `traffic_clean`.

# COMMAND ----------

dbutils.widgets.text("target", "")
dbutils.widgets.text("batches", "")  # empty: the batches the extract task took

# COMMAND ----------

import json

from devops_mlops.lifecycle import stages
from devops_mlops.lifecycle.session import open_session

s = open_session(dbutils.widgets.get("target"))
wanted = dbutils.widgets.get("batches") or dbutils.jobs.taskValues.get("extract", "batches", default="", debugValue="")
result = stages.build_features(s, stages.parse_batches(s, wanted))
print(result)

# COMMAND ----------

dbutils.notebook.exit(json.dumps(result, default=str))
