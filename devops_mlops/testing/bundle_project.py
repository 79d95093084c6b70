"""Projects whose jobs are written as Databricks Asset Bundle files, for tests and ``bench/bench_bundle.py``.

Each *shape* is one thing bundle users write (written here for the toolkit, copied from no one):
variables with defaults and per-target values, the current user, workspace paths, the bundle's
name, resources of other types beside the jobs, paths relative to the YAML file, anchor carrier
keys, permissions, include globs, Python file tasks with libraries and environments, serverless
jobs, and jobs that run other jobs by id. ``write_bundle_project(folder, shapes, host=...)``
writes mlops.yaml, databricks.yml, ``src/`` and one ``resources/<shape>.yml`` per shape.
"""

from __future__ import annotations

from pathlib import Path

NOTEBOOK = "# Databricks notebook source\nprint('hello')\n"

DATABRICKS_YML = """\
bundle:
  name: {name}

include:
  - resources/*.yml
  - jobs/**/*.job.yml

variables:
  catalog:
    description: catalog of the tables
    default: main
  schema:
    default: sales_${{bundle.target}}
  notify:
    default: data-team@example.com
  warehouse_id:
    lookup:
      warehouse: Shared Warehouse

targets:
  dev:
    mode: development
    default: true
    variables:
      catalog: dev
  prod:
    variables:
      catalog: prod
"""

MLOPS_YML = """\
project: {name}
model: {{name: {name}_model}}
notebooks: src
variables:
  warehouse_id: 0123456789abcdef
targets:
  dev:
    backend: databricks
    host: {host}
    workspace_dir: /Workspace/Shared/{name}
    compute: {{serverless: true}}
"""

TASK = """\
      tasks:
        - task_key: main
          notebook_task:
            notebook_path: ../src/{nb}.py
"""

SHAPES: dict[str, str] = {
    "variables": """\
resources:
  jobs:
    {key}:
      name: {key}-${{bundle.target}}
      email_notifications:
        on_failure:
          - ${{var.notify}}
      tasks:
        - task_key: main
          notebook_task:
            notebook_path: ../src/{nb}.py
            base_parameters:
              catalog: ${{var.catalog}}
              schema: ${{var.schema}}
              warehouse: ${{var.warehouse_id}}
""",
    "current_user": """\
resources:
  jobs:
    {key}:
      name: "[${{workspace.current_user.short_name}}] {key}"
      tags:
        owner: ${{workspace.current_user.userName}}
""" + TASK,
    "file_path": """\
resources:
  jobs:
    {key}:
      name: {key}
      tasks:
        - task_key: main
          notebook_task:
            notebook_path: ${{workspace.file_path}}/{nb}
            base_parameters:
              root: ${{workspace.root_path}}
""",
    "bundle_name": """\
resources:
  jobs:
    {key}:
      name: ${{bundle.name}}-{key}-${{bundle.target}}
""" + TASK,
    "other_resources": """\
resources:
  schemas:
    {key}_schema:
      catalog_name: ${{var.catalog}}
      name: {key}_${{bundle.target}}
  volumes:
    {key}_raw:
      catalog_name: ${{var.catalog}}
      schema_name: ${{resources.schemas.{key}_schema.name}}
      name: raw
  pipelines:
    {key}_etl:
      name: {key}-etl
      catalog: ${{var.catalog}}
  jobs:
    {key}:
      name: {key}
      tasks:
        - task_key: main
          notebook_task:
            notebook_path: ../src/{nb}.py
            base_parameters:
              schema: ${{resources.schemas.{key}_schema.name}}
              volume: /Volumes/${{var.catalog}}/${{resources.volumes.{key}_raw.schema_name}}/raw
""",
    "anchors": """\
common_permissions: &permissions
  permissions:
    - level: CAN_VIEW
      group_name: users

new_cluster: &cluster
  new_cluster:
    spark_version: 15.4.x-scala2.12
    node_type_id: Standard_D3_v2
    num_workers: 1

resources:
  jobs:
    {key}:
      name: {key}
      <<: *permissions
      job_clusters:
        - job_cluster_key: small
          <<: *cluster
      tasks:
        - task_key: main
          job_cluster_key: small
          notebook_task:
            notebook_path: ../src/{nb}.py
""",
    "permissions": """\
resources:
  jobs:
    {key}:
      name: {key}
      permissions:
        - level: CAN_MANAGE_RUN
          group_name: data-engineers
        - level: CAN_VIEW
          user_name: analyst@example.com
""" + TASK,
    "python_file": """\
resources:
  jobs:
    {key}:
      name: {key}
      environments:
        - environment_key: default
          spec:
            client: "2"
            dependencies:
              - -r ../src/requirements.txt
      tasks:
        - task_key: main
          environment_key: default
          spark_python_task:
            python_file: ../src/main.py
        - task_key: notebook
          depends_on: [{{task_key: main}}]
          notebook_task:
            notebook_path: ../src/{nb}.py
          libraries:
            - requirements: ../src/requirements.txt
""",
    "repo_root_paths": """\
resources:
  jobs:
    {key}:
      name: {key}
      schedule:
        quartz_cron_expression: "0 0 5 * * ?"
        timezone_id: Europe/Amsterdam
      tasks:
        - task_key: main
          notebook_task:
            notebook_path: src/{nb}
""",
    "run_job": """\
resources:
  jobs:
    {key}_child:
      name: {key}-child
""" + TASK.replace("      tasks:", "      tasks:", 1) + """\
    {key}:
      name: {key}
      tasks:
        - task_key: run_child
          run_job_task:
            job_id: ${{resources.jobs.{key}_child.id}}
""",
}

#: the shape whose job file lives outside resources/, found through the bundle's include globs
INCLUDED = "included"
SHAPES[INCLUDED] = SHAPES["bundle_name"]


def write_bundle_project(folder: Path, shapes: list[str] | None = None, *, host: str = "http://127.0.0.1:1",
                         name: str = "shop", copies: int = 1) -> Path:
    """A project with one job file per shape (``copies`` of each, keys suffixed ``_<n>``); returns
    the mlops.yaml path."""
    folder = Path(folder)
    (folder / "src").mkdir(parents=True, exist_ok=True)
    (folder / "resources").mkdir(exist_ok=True)
    (folder / "mlops.yaml").write_text(MLOPS_YML.format(name=name, host=host))
    (folder / "databricks.yml").write_text(DATABRICKS_YML.format(name=name))
    (folder / "src" / "main.py").write_text("print('main')\n")
    (folder / "src" / "requirements.txt").write_text("requests\n")
    for shape in shapes or list(SHAPES):
        for n in range(copies):
            key = f"{shape}_{n}" if copies > 1 else shape
            (folder / "src" / f"{key}_nb.py").write_text(NOTEBOOK)
            text = SHAPES[shape].format(key=key, nb=f"{key}_nb")
            if shape == INCLUDED:
                text = text.replace("../src/", "../../src/")
                target = folder / "jobs" / key / f"{key}.job.yml"
                target.parent.mkdir(parents=True, exist_ok=True)
            else:
                target = folder / "resources" / f"{key}.yml"
            target.write_text(text)
    return folder / "mlops.yaml"
