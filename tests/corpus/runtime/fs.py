# Databricks notebook source
dbutils.fs.mkdirs("dbfs:/tmp/mlops-fs")
dbutils.fs.put("dbfs:/tmp/mlops-fs/a.txt", "hello fs", overwrite=True)
assert dbutils.fs.head("/dbfs/tmp/mlops-fs/a.txt") == "hello fs"
dbutils.fs.cp("dbfs:/tmp/mlops-fs/a.txt", "dbfs:/tmp/mlops-fs/b.txt")
dbutils.fs.mv("dbfs:/tmp/mlops-fs/b.txt", "dbfs:/tmp/mlops-fs/c.txt")
names = sorted(f.name for f in dbutils.fs.ls("dbfs:/tmp/mlops-fs"))
assert names == ["a.txt", "c.txt"], names
import os
assert os.path.exists(os.path.join(os.environ["MLOPS_DBFS_ROOT"], "tmp/mlops-fs/a.txt"))
dbutils.fs.rm("dbfs:/tmp/mlops-fs", recurse=True)
assert not os.path.exists(os.path.join(os.environ["MLOPS_DBFS_ROOT"], "tmp/mlops-fs"))
dbutils.notebook.exit(",".join(names))
