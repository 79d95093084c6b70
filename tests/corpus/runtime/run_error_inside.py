# Databricks notebook source
# MAGIC %run ./lib/divide

# COMMAND ----------

result = divide(1, 0)
