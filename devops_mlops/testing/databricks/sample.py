"""A small mlops project for tests and benchmarks that talk to the Databricks emulator."""

from __future__ import annotations

from pathlib import Path

SAMPLE_NOTEBOOK = "# Databricks notebook source\nprint({n})\n"


def sample_project(root: str | Path, *, host: str | None = None, notebooks: int = 3, folders: int = 1,
                   jobs: int = 1, project: str = "demo") -> Path:
    """Write a small mlops project into ``root`` (a ``pathlib.Path``): mlops.yaml with the targets
    ``local``, ``dev`` (databricks, workspace_dir ``/Shared/demo``) and ``prod`` (databricks Git
    folder ``/Repos/ci/demo``, branch main), ``notebooks`` spread over ``folders`` folders, and
    ``jobs`` two-task jobs in ``resources/jobs.yml``. Returns the mlops.yaml path."""
    root = Path(root)
    host_line = f"    host: {host}\n" if host else ""
    (root / "mlops.yaml").write_text(
        f"project: {project}\nmodel: {{name: m}}\nvariables: {{env_name: test}}\n"
        "targets:\n  local: {default: true}\n"
        f"  dev:\n    backend: databricks\n{host_line}    workspace_dir: /Shared/demo\n"
        "    compute: {serverless: true}\n    variables: {env_name: dev}\n"
        f"  prod:\n    backend: databricks\n{host_line}    repo_path: /Repos/ci/demo\n"
        "    git_url: https://dev.azure.com/org/proj/_git/demo\n    branch: main\n"
    )
    nb = root / "notebooks"
    for i in range(notebooks):
        folder = nb / (f"f{i % folders}" if folders > 1 else "")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"nb{i}.py").write_text(SAMPLE_NOTEBOOK.format(n=i))
    first = nb / ("f0" if folders > 1 else "") / "nb0.py"
    second = nb / (f"f{1 % folders}" if folders > 1 else "") / f"nb{min(1, notebooks - 1)}.py"
    res = root / "resources"
    res.mkdir(exist_ok=True)
    lines = ["resources:", "  jobs:"]
    for j in range(jobs):
        lines += [
            f"    job{j}:",
            f"      name: demo-job{j}-${{target}}",
            "      parameters: [{name: env, default: \"${var.env_name}\"}]",
            "      tasks:",
            "        - task_key: first",
            f"          notebook_task: {{notebook_path: {first.relative_to(root).as_posix()}}}",
            "        - task_key: second",
            "          depends_on: [{task_key: first}]",
            f"          notebook_task: {{notebook_path: {second.relative_to(root).as_posix()}, "
            f"base_parameters: {{n: \"{j}\"}}}}",
        ]
    (res / "jobs.yml").write_text("\n".join(lines) + "\n")
    return root / "mlops.yaml"
