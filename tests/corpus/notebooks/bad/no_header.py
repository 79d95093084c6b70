print("cell one")

# COMMAND ----------

print("cell two")
