"""The notebook API: what a project's notebooks call (``from devops_mlops.runtime import api``).

It is a client of the use cases (:mod:`devops_mlops.ops`) and of the ports, and nothing in the
package imports it; the notebooks run in the kernel engine (:mod:`devops_mlops.kernel`).
"""
