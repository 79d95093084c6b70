# Databricks notebook source
print("before exit")
dbutils.notebook.exit("early")

# COMMAND ----------

raise RuntimeError("must not run after exit")
