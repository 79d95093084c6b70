-- Databricks notebook source
SELECT 1

-- COMMAND ----------

SELECT 2
