# Databricks notebook source
# MAGIC %md
# MAGIC # Documentation only

# COMMAND ----------

# MAGIC %pip install not-a-real-package-xyz

# COMMAND ----------

# MAGIC %sql
# MAGIC SELECT * FROM nowhere

# COMMAND ----------

# MAGIC %sh
# MAGIC exit 1

# COMMAND ----------

# MAGIC %scala
# MAGIC val x = 1

# COMMAND ----------

# MAGIC %python
# MAGIC ran_python_magic = True

# COMMAND ----------

assert ran_python_magic
dbutils.notebook.exit("ok")
