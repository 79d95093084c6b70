"""Spark: the local engine (one SparkSession per process, shared with notebook kernels
through Spark Connect) and the tables adapter used by it and by Databricks."""
