# Databricks notebook source
x = 1

# COMMAND ----------

# MAGIC %run ./run_cycle_b
