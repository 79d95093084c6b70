# Databricks notebook source
import os, subprocess, sys, time
pidfile = dbutils.widgets.get("pidfile")
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
with open(pidfile + ".tmp", "w") as fh:
    fh.write(f"{os.getpid()} {child.pid}")
os.replace(pidfile + ".tmp", pidfile)

# COMMAND ----------

time.sleep(600)
