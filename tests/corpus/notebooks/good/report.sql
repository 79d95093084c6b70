-- Databricks notebook source
-- DBTITLE 1,Daily totals
SELECT day, sum(vehicles) AS vehicles
FROM main.toll.raw_traffic
GROUP BY day

-- COMMAND ----------

-- MAGIC %python
-- MAGIC display(spark.table("main.toll.raw_traffic"))

-- COMMAND ----------

-- MAGIC %md
-- MAGIC ## Notes
-- MAGIC
-- MAGIC Totals per day.
