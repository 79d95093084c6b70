# Databricks notebook source
# MAGIC %sql
# MAGIC CREATE OR REPLACE TEMP VIEW numbers AS SELECT id AS n FROM range(4);
# MAGIC -- a comment; with a semicolon
# MAGIC SELECT sum(n) AS total, ';' AS sep FROM numbers

# COMMAND ----------

assert _sqldf.collect()[0].total == 6
assert spark.table("numbers").count() == 4

# COMMAND ----------

# MAGIC %sql
# MAGIC SELECT * FROM nowhere_at_all
