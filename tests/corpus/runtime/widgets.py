# Databricks notebook source
import json

dbutils.widgets.text("name", "default-name", "Name")
dbutils.widgets.dropdown("color", "red", ["red", "green", "blue"])
dbutils.widgets.combobox("size", "M", ["S", "M", "L"])
dbutils.widgets.multiselect("tags", "a,b", ["a", "b", "c"])
dbutils.widgets.text("gone", "x")
dbutils.widgets.remove("gone")

# COMMAND ----------

values = dbutils.widgets.getAll()
values["arg"] = getArgument("missing", "fallback")
values["name_via_get"] = dbutils.widgets.get("name")
dbutils.notebook.exit(json.dumps(values, sort_keys=True))
