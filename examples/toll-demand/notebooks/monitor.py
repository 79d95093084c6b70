# Databricks notebook source
# MAGIC %md
# MAGIC # Monitoring: metrics check
# MAGIC `mode=check` (the default): computes `monitoring.metrics` on the latest labelled window, appends them
# MAGIC to `metrics` and checks them with the V-of-last-K-windows rule; `mlops monitor` (or the Data Factory
# MAGIC monitoring pipeline) retrains when out of range. `mode=recheck`: evaluates a retrain `candidate` on
# MAGIC the latest labelled window against the thresholds, production and the gate.
# MAGIC The exit value contains the word "violation" only when out of range (check) or still failing (recheck).

# COMMAND ----------

dbutils.widgets.text("target", "")
dbutils.widgets.dropdown("mode", "check", ["check", "recheck"])
dbutils.widgets.text("candidate", "")  # recheck: the retrain notebook's exit value (or a model URI)
dbutils.widgets.text("attempt", "")
# passed by the Data Factory pipelines: checked against mlops.yaml (a stale export fails here)
for name in ("model_name", "metrics", "windows_evaluate", "windows_violations"):
    dbutils.widgets.text(name, "")

# COMMAND ----------

import json

from devops_mlops.runtime import api
from devops_mlops.ops.monitor import check_metrics, check_pipeline_params, recheck_candidate

s = api.session(dbutils.widgets.get("target"))
check_pipeline_params(s.ctx, {k: dbutils.widgets.get(k) for k in ("model_name", "metrics", "windows_evaluate", "windows_violations")})
if dbutils.widgets.get("mode") == "recheck":
    recheck = recheck_candidate(s.ctx, dbutils.widgets.get("candidate"), attempt=dbutils.widgets.get("attempt"))
    print(recheck.summary())
    verdict = recheck.to_dict()
else:
    check = check_metrics(s.ctx)
    dbutils.jobs.taskValues.set("retrain_needed", check.retrain_needed)
    print(check.summary())
    verdict = check.verdict()

# COMMAND ----------

dbutils.notebook.exit(json.dumps(verdict, default=str))
