# Databricks notebook source
def double(x):
    return 2 * x

# COMMAND ----------

HELPERS_LOADED = True
