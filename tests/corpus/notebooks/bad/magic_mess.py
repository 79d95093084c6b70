# Databricks notebook source
x = 1
# MAGIC %sql
# MAGIC SELECT 1

# COMMAND ----------

# MAGIC %md
# MAGIC fine
not magic here
