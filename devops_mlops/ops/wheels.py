"""Reproducible wheels: the same sources give the same bytes.

The package's folder is copied (without VCS, virtualenv, build and cache folders) into a fresh
temporary folder, so stale ``build/`` output or ``*.egg-info`` never leaks into the wheel, and
built there with PEP 517 through ``pip wheel --no-deps --no-build-isolation`` (the build
backend must be installed next to mlops: no index is needed at deploy time) with
``SOURCE_DATE_EPOCH`` fixed, which makes the zip timestamps constant. Built wheels are kept
under ``.mlops/artifacts/<source hash>/``: a deploy whose sources did not change reuses them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, InputError

#: 1980-01-01, the earliest time a zip file can hold
SOURCE_DATE_EPOCH = "315532800"
_SKIP = {".git", ".hg", ".svn", ".mlops", ".venv", "venv", "build", "dist", "__pycache__", ".pytest_cache",
         ".ruff_cache", ".mypy_cache", ".tox", ".nox", "node_modules", ".ipynb_checkpoints"}
_BUILD_TIMEOUT = 600


@dataclass
class Built:
    name: str
    version: str
    path: Path
    sha256: str
    size: int
    seconds: float
    cached: bool


def read_project(pyproject: Path) -> tuple[str, str]:
    """``[project]`` name and version of a pyproject.toml (exit 2 naming the file when unusable)."""
    try:
        doc = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read it: {exc.strerror}", path=pyproject) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", path=pyproject) from None
    project = doc.get("project") or {}
    name, version = project.get("name"), project.get("version")
    if not name:
        raise ConfigError("[project].name is missing: the package cannot be built", path=pyproject)
    if not version:
        dynamic = project.get("dynamic") or []
        if "version" not in dynamic:
            raise ConfigError("[project].version is missing: the package cannot be built", path=pyproject)
        version = "dynamic"
    return str(name), str(version)


def _skipped(name: str) -> bool:
    return name in _SKIP or name.endswith((".egg-info", ".pyc", "~")) or name == ".DS_Store"


def _files(folder: Path) -> list[Path]:
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        # a virtual environment under any name (.venv-3.12, env, ...) holds pyvenv.cfg: never part of a build
        dirnames[:] = sorted(d for d in dirnames if not _skipped(d) and not os.path.isfile(os.path.join(dirpath, d, "pyvenv.cfg")))
        out += [Path(dirpath) / f for f in sorted(filenames) if not _skipped(f)]
    return out


def source_hash(folder: Path) -> str:
    """A hash of what the build sees: relative paths, executable bits, contents, the build settings."""
    h = hashlib.sha256(f"{sys.version_info[:2]}|{SOURCE_DATE_EPOCH}\n".encode())
    for path in _files(folder):
        rel = path.relative_to(folder).as_posix()
        h.update(f"{rel}|{os.access(path, os.X_OK)}|".encode())
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def _last_line(text: str) -> str:
    """The build's own last line: inside pip's "[N lines of output] ... [end of output]" box, else
    the last line that is not one of pip's notes."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if "[end of output]" in lines:
        end = len(lines) - 1 - lines[::-1].index("[end of output]")
        if end > 0 and not lines[end - 1].endswith("lines of output]"):
            return lines[end - 1]
    useful = [ln for ln in lines if not ln.startswith(("note:", "hint:", "╰─>", "[end of output]"))]
    return (useful or lines or ["the build failed without a message"])[-1]


def build_wheel(folder: Path, cache_dir: Path) -> Built:
    """Build the package in ``folder`` (its pyproject.toml) into ``cache_dir``; see the module docstring."""
    import time

    pyproject = folder / "pyproject.toml"
    if not pyproject.is_file():
        raise ConfigError(f"no pyproject.toml in {folder}: nothing to build", path=pyproject)
    name, version = read_project(pyproject)
    key = source_hash(folder)
    out_dir = cache_dir / key[:24]
    found = sorted(out_dir.glob("*.whl")) if out_dir.is_dir() else []
    start = time.perf_counter()
    if len(found) == 1:
        data = found[0].read_bytes()
        return Built(name, version, found[0], hashlib.sha256(data).hexdigest(), len(data),
                     time.perf_counter() - start, True)
    with tempfile.TemporaryDirectory(prefix="mlops-wheel-") as tmp:
        src = Path(tmp) / "src"
        for path in _files(folder):
            dest = src / path.relative_to(folder)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
        dist = Path(tmp) / "dist"
        env = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH, "PIP_NO_INPUT": "1",
               "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
               "-q", "-w", str(dist), str(src)]
        try:
            proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=_BUILD_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise InputError(f"building the package took more than {_BUILD_TIMEOUT} s", path=pyproject) from None
        wheels = sorted(dist.glob("*.whl")) if dist.is_dir() else []
        if proc.returncode != 0 or len(wheels) != 1:
            raise InputError(f"the package does not build: {_last_line(proc.stderr + proc.stdout)}",
                             path=pyproject, hint="run `pip wheel --no-deps --no-build-isolation .` there to see "
                                                  "the whole output")
        out_dir.mkdir(parents=True, exist_ok=True)
        final = out_dir / wheels[0].name
        tmp_final = out_dir / f".{wheels[0].name}.{os.getpid()}.tmp"
        shutil.copyfile(wheels[0], tmp_final)
        os.replace(tmp_final, final)
    data = final.read_bytes()
    return Built(name, version, final, hashlib.sha256(data).hexdigest(), len(data), time.perf_counter() - start, False)


def toolkit_source() -> Path | None:
    """The toolkit's own source tree (a checkout with its pyproject.toml), when it runs from one."""
    root = Path(__file__).resolve().parents[2]
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return None
    try:
        name, _ = read_project(pyproject)
    except (InputError, ConfigError):
        return None
    return root if name.replace("_", "-").lower() == "devops-mlops" else None
