"""Databricks' notebook runtime on this machine: notebooks run as tests in fresh
Jupyter kernels (:mod:`.runner`), with ``dbutils``/``spark``/``display`` emulated
inside the kernel (:mod:`.shim`) and ``%run`` inlined (:mod:`.plan`).

Keep this package import-light: :mod:`.shim` is imported inside every kernel.
"""
