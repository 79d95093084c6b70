# Databricks notebook source
# MAGIC %md
# MAGIC # Data preparation
# MAGIC Cleans the extracted rows (types, duplicates, impossible values) into `traffic_clean`.

# COMMAND ----------

dbutils.widgets.text("target", "")
dbutils.widgets.text("batches", "")  # empty: the batches the extract task took

# COMMAND ----------

import json

from devops_mlops.lifecycle import stages
from devops_mlops.lifecycle.session import open_session

s = open_session(dbutils.widgets.get("target"))
wanted = dbutils.widgets.get("batches") or dbutils.jobs.taskValues.get("extract", "batches", default="", debugValue="")
result = stages.prepare(s, stages.parse_batches(s, wanted))
print(result)

# COMMAND ----------

dbutils.notebook.exit(json.dumps(result, default=str))
