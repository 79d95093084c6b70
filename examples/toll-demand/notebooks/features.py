# Databricks notebook source
# MAGIC %md
# MAGIC # Feature engineering
# MAGIC Builds the feature table `traffic_features` (key, batch_id, model inputs) from `traffic_clean`.

# COMMAND ----------

dbutils.widgets.text("target", "")
dbutils.widgets.text("batches", "")  # empty: the batches the extract task took

# COMMAND ----------

import json

from devops_mlops.runtime import api
from toll_demand import extraction, features

s = api.session(dbutils.widgets.get("target"))
wanted = api.widget_or_task_value(dbutils, "batches", "extract")
result = features.build(s, extraction.parse_batches(s, wanted))
print(result)

# COMMAND ----------

dbutils.notebook.exit(json.dumps(result, default=str))
