# Databricks notebook source
# MAGIC %run ./00_setup

# COMMAND ----------

dbutils.widgets.text("run_date", "2024-01-01")
run_date = dt.date.fromisoformat(getArgument("run_date"))

# COMMAND ----------

# DBTITLE 1,Read the raw table
raw = spark.table(table_name("raw_traffic"))
display(raw.limit(10))

# COMMAND ----------

# MAGIC %sql
# MAGIC SELECT plaza_id, count(*) AS n
# MAGIC FROM main.toll.raw_traffic
# MAGIC GROUP BY plaza_id

# COMMAND ----------

# MAGIC %sh
# MAGIC ls /dbfs/tmp

# COMMAND ----------

features = raw.where(raw.day <= run_date)
features.write.mode("overwrite").saveAsTable(table_name("features"))
