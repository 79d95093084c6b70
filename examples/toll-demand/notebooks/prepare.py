# Databricks notebook source
# MAGIC %md
# MAGIC # Data preparation
# MAGIC Cleans the extracted rows (types, duplicates, impossible values) into `traffic_clean`.

# COMMAND ----------

dbutils.widgets.text("target", "")
dbutils.widgets.text("batches", "")  # empty: the batches the extract task took

# COMMAND ----------

import json

from devops_mlops.runtime import api
from toll_demand import extraction, preparation

s = api.session(dbutils.widgets.get("target"))
wanted = api.widget_or_task_value(dbutils, "batches", "extract")
result = preparation.prepare(s, extraction.parse_batches(s, wanted))
print(result)

# COMMAND ----------

dbutils.notebook.exit(json.dumps(result, default=str))
