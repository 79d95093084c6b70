# Databricks notebook source
dbutils.widgets.text("x", "1")
dbutils.notebook.exit(str(int(dbutils.widgets.get("x")) * 2))
