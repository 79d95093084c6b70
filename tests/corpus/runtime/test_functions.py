# Databricks notebook source
from os.path import join as test_join_imported  # imported, not defined here: not a test

def test_addition():
    assert 1 + 1 == 2

def test_widget_default():
    dbutils.widgets.text("w", "v")
    assert dbutils.widgets.get("w") == "v"

# COMMAND ----------

def test_fails():
    expected = 3
    assert 1 + 1 == expected, "arithmetic is broken"

def helper_not_a_test():
    raise RuntimeError("never called")
