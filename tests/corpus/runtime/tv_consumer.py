# Databricks notebook source
import json

rows = dbutils.jobs.taskValues.get("produce", "rows", debugValue=-1)
model = dbutils.jobs.taskValues.get(taskKey="produce", key="model", default=None, debugValue={"name": "debug"})
missing = dbutils.jobs.taskValues.get("produce", "nope", default="dflt", debugValue="dbg")
dbutils.notebook.exit(json.dumps({"rows": rows, "model": model, "missing": missing}))
