# Databricks notebook source
# MAGIC %md
# MAGIC # Shared setup
# MAGIC Helpers every notebook of the toll-demand project `%run`s.

# COMMAND ----------

# DBTITLE 1,Imports and constants
import datetime as dt

CATALOG = "main"
SCHEMA = "toll"


def today():
    return dt.date.today()


def table_name(name):
    return f"{CATALOG}.{SCHEMA}.{name}"

# COMMAND ----------

# MAGIC %pip install --quiet holidays
