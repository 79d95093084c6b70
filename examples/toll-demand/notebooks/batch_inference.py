# Databricks notebook source
# MAGIC %md
# MAGIC # Batch inference
# MAGIC Scores the new batch(es) of the feature table with the production model into `predictions`
# MAGIC (key, prediction, model_name, model_version, scored_at, batch_id). Re-scoring a batch replaces its rows.
# MAGIC Pandas in chunks on this machine; `mlflow.pyfunc.spark_udf` on Databricks.

# COMMAND ----------

dbutils.widgets.text("target", "")
dbutils.widgets.text("batches", "")  # empty: every batch not scored yet
dbutils.widgets.text("version", "")  # empty: the production version

# COMMAND ----------

import json

from devops_mlops.runtime import api
from devops_mlops.ops.infer import infer
from toll_demand import extraction

s = api.session(dbutils.widgets.get("target"))
wanted = dbutils.widgets.get("batches")
version = dbutils.widgets.get("version")
result = infer(
    s.ctx,
    batches=extraction.parse_batches(s, wanted) if wanted else None,
    version=int(version) if version else None,
    rescore=bool(wanted),
)
print(result.summary())

# COMMAND ----------

dbutils.notebook.exit(json.dumps(result.to_dict(), default=str))
