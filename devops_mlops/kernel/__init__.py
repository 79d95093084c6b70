"""The kernel engine: Databricks' notebook runtime on this machine. Notebooks run in fresh Jupyter
kernels (:mod:`.runner`, warm ones from :mod:`.pool`), with ``dbutils``/``spark``/``display``
emulated inside the kernel (:mod:`.shim`), ``%run`` inlined (:mod:`.plan`) and, on the Spark
engine, one local Spark session per process (:mod:`.spark`).

It knows notebooks and kernels, not use cases: the jobs adapter and ``mlops test`` drive it; the
notebook API (:mod:`devops_mlops.runtime`) runs inside it. Keep it import-light: :mod:`.shim` is
imported inside every kernel.
"""
