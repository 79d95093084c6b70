# Databricks notebook source
# MAGIC %md
# MAGIC # Retraining
# MAGIC One try of the retrain loop: trains on the freshest labelled batches before the latest one
# MAGIC (try k uses `data.retrain.windows[k-1]` batches) and evaluates on the latest. The loop
# MAGIC (`mlops monitor`, or the Data Factory retrain pipeline) compares it with production, registers, gates,
# MAGIC promotes and commits this notebook. The exit value is the try's result with `candidate` (its model URI).

# COMMAND ----------

dbutils.widgets.text("target", "")
dbutils.widgets.text("attempt", "1")
dbutils.widgets.text("eval_batch", "")  # empty: the latest labelled batch

# COMMAND ----------

import json

from devops_mlops.runtime import api
from toll_demand import training

s = api.session(dbutils.widgets.get("target"))
eval_batch = dbutils.widgets.get("eval_batch")
result = training.retrain(
    s, int(dbutils.widgets.get("attempt")), eval_batch=int(eval_batch) if eval_batch else None
)
print({k: result[k] for k in ("attempt", "window", "train_batches", "eval_batch", "metrics")})

# COMMAND ----------

dbutils.notebook.exit(json.dumps(result, default=str))
