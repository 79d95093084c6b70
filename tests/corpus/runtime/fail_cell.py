# Databricks notebook source
# MAGIC %md
# MAGIC A failing notebook: the error is in cell 3, file line 13.

# COMMAND ----------

def ratio(a, b):
    return a / b

# COMMAND ----------

# DBTITLE 1,The failing cell
total = 10
ratio(total, 0)
