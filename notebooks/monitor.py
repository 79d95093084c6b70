# Databricks notebook source
# MAGIC %md
# MAGIC # Monitoring: metrics check
# MAGIC Computes `monitoring.metrics` on the latest labelled window, appends them to `metrics` and checks
# MAGIC them with the V-of-last-K-windows rule. Retraining is the monitoring pipeline's next step
# MAGIC (`mlops monitor`), which reads the `retrain_needed` task value.

# COMMAND ----------

dbutils.widgets.text("target", "")

# COMMAND ----------

import json

from devops_mlops.lifecycle.session import open_session
from devops_mlops.ops.monitor import check_metrics

s = open_session(dbutils.widgets.get("target"))
check = check_metrics(s.ctx)
dbutils.jobs.taskValues.set("retrain_needed", check.retrain_needed)
print(check.summary())

# COMMAND ----------

dbutils.notebook.exit(json.dumps(check.to_dict(), default=str))
