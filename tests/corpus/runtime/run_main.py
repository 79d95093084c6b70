# Databricks notebook source
# MAGIC %run ./lib/helpers

# COMMAND ----------

# MAGIC %run ./lib/greet $greeting="hello"

# COMMAND ----------

assert HELPERS_LOADED
dbutils.notebook.exit(f"{double(21)} {greeting}")
