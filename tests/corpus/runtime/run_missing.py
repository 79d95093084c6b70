# Databricks notebook source
y = 2

# COMMAND ----------

# MAGIC %run ./lib/does_not_exist
