"""Build hook: wheels carry the project template (`mlops init`) copied from the
example project, examples/toll-demand/ (mlops.yaml, notebooks/, resources/, azure-pipelines/, ...)."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent / "examples" / "toll-demand"
TEMPLATE_ITEMS = ("mlops.yaml", "notebooks", "resources", "azure-pipelines", "pyproject.toml", "src", "tests")


class BuildWithTemplate(build_py):
    def run(self):
        super().run()
        if self.editable_mode:
            return  # an editable install reads the template from the checkout
        target = Path(self.build_lib) / "devops_mlops" / "_template"
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for item in TEMPLATE_ITEMS:
            src = ROOT / item
            if src.is_dir():
                shutil.copytree(src, target / item, ignore=shutil.ignore_patterns("__pycache__", ".*", "*.egg-info"))
            elif src.is_file():
                shutil.copy2(src, target / item)


setup(cmdclass={"build_py": BuildWithTemplate})
