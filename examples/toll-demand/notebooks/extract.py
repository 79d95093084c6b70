# Databricks notebook source
# MAGIC %md
# MAGIC # Data extraction and validation
# MAGIC Extracts the batch(es) of daily toll-plaza traffic into `raw_traffic`, validates them
# MAGIC (schema, nulls, duplicates, ranges) and lands the labels that have arrived in `traffic_labels`.

# COMMAND ----------

dbutils.widgets.text("target", "")
dbutils.widgets.text("batches", "history")  # history | next | latest | N | A-B | A,B

# COMMAND ----------

import json

from devops_mlops.lifecycle import stages
from devops_mlops.lifecycle.session import open_session

s = open_session(dbutils.widgets.get("target"))
batches = stages.parse_batches(s, dbutils.widgets.get("batches"))
result = stages.extract(s, batches)
dbutils.jobs.taskValues.set("batches", ",".join(str(b) for b in batches))
print(result)

# COMMAND ----------

dbutils.notebook.exit(json.dumps(result, default=str))
