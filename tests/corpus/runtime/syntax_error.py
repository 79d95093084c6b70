# Databricks notebook source
ok = 1

# COMMAND ----------

a = 1
def broken(:
    pass
