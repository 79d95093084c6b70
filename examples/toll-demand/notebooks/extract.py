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

from devops_mlops.runtime import api
from toll_demand import extraction

s = api.session(dbutils.widgets.get("target"))
batches = extraction.parse_batches(s, dbutils.widgets.get("batches"))
result = extraction.extract(s, batches)
dbutils.jobs.taskValues.set("batches", ",".join(str(b) for b in batches))
print(result)

# COMMAND ----------

dbutils.notebook.exit(json.dumps(result, default=str))
