# Databricks notebook source
# MAGIC %md
# MAGIC # Promotion
# MAGIC Gives the validated version the staging or production slot (alias or stage), recorded in `promotions`.

# COMMAND ----------

dbutils.widgets.text("target", "")
dbutils.widgets.text("version", "")  # empty: the version the validate task passed
dbutils.widgets.dropdown("slot", "production", ["staging", "production"])

# COMMAND ----------

import json

from devops_mlops.runtime import api

s = api.session(dbutils.widgets.get("target"))
version = dbutils.widgets.get("version") or dbutils.jobs.taskValues.get("validate", "version", default=0, debugValue=0)
result = s.promote(int(version), dbutils.widgets.get("slot"))
print(result["message"])

# COMMAND ----------

dbutils.notebook.exit(json.dumps(result, default=str))
