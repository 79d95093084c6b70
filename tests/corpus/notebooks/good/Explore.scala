// Databricks notebook source
val df = spark.table("main.toll.raw_traffic")

// COMMAND ----------

// MAGIC %python
// MAGIC print(spark.version)
