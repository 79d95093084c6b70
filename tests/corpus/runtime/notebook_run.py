# Databricks notebook source
value = dbutils.notebook.run("./child", 120, {"x": "21"})
assert value == "42", value
try:
    dbutils.notebook.run("./fail_cell", 120)
    raise AssertionError("the failing child should raise")
except Exception as exc:
    assert "ZeroDivisionError" in str(exc), str(exc)
dbutils.notebook.exit(value)
