"""`mlops init`: scaffold a working project from the template shipped with the package.

The template is the repository's example project (the folder under
``examples/`` that holds an mlops.yaml: its mlops.yaml, notebooks/, the job
definitions, azure-pipelines/, its own package under src/ with its
pyproject.toml, and its tests/): a wheel carries a copy under
``devops_mlops/_template`` (see setup.py); a source checkout reads the example
folder. So what `mlops init` writes is exactly what the toolkit's own CI lints,
tests and runs.

The project's package is renamed after the project: ``--name fraud-scoring``
writes ``src/fraud_scoring/`` and rewrites the template package's name in
every copied text file (imports, the entry points of mlops.yaml, the
distribution name in pyproject.toml).

API::

    result = init_project(Path("my-project"), name="fraud-scoring", force=False, dry_run=False)
    result.written / result.unchanged / result.conflicts
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..context import repository_at
from ..errors import InputError, UsageError
from ..ports.git import Repository

TEMPLATE_ITEMS = ("mlops.yaml", "notebooks", "resources", "azure-pipelines", "pyproject.toml", "src", "tests")
GITIGNORE_LINES = (".mlops/", "__pycache__/", ".venv/")
README_MARKER = "## Next steps (devops-mlops)"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")


@dataclass
class InitResult:
    root: Path
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    git_initialised: bool = False

    def to_json(self) -> dict:
        return {
            "root": str(self.root),
            "written": self.written,
            "unchanged": self.unchanged,
            "conflicts": self.conflicts,
            "git_initialised": self.git_initialised,
        }


def template_root() -> Path:
    package = Path(__file__).resolve().parent.parent
    bundled = package / "_template"
    if (bundled / "mlops.yaml").is_file():
        return bundled
    for example in sorted((package.parent / "examples").glob("*/mlops.yaml")):
        if (example.parent / "notebooks").is_dir():
            return example.parent
    raise UsageError("the project template is missing from this installation (reinstall devops-mlops)")


def _template_files(root: Path) -> list[tuple[str, Path]]:
    files: list[tuple[str, Path]] = []
    for item in TEMPLATE_ITEMS:
        src = root / item
        if src.is_file():
            files.append((item, src))
        elif src.is_dir():
            for f in sorted(src.rglob("*")):
                rel = f.relative_to(root)
                skipped = any(p.startswith(".") or p == "__pycache__" or p.endswith(".egg-info") for p in rel.parts)
                if f.is_file() and not skipped:
                    files.append((rel.as_posix(), f))
    return files


def template_package(root: Path) -> tuple[str, str] | None:
    """The template's (distribution name, import name) from its pyproject.toml, None without one."""
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return None
    import tomllib

    dist = str(tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {}).get("name") or "")
    return (dist, python_name(dist)) if dist else None


def python_name(name: str) -> str:
    """The import name of a project name: ``fraud-scoring`` -> ``fraud_scoring``."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name).lower()


def _rename(rel: str, data: bytes, old: tuple[str, str], new: tuple[str, str]) -> tuple[str, bytes]:
    """A template file with the template's package renamed to the project's (path and text)."""
    parts = [new[1] if p == old[1] else p for p in rel.split("/")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "/".join(parts), data
    text = re.sub(rf"\b{re.escape(old[1])}\b", new[1], text)
    if rel == "pyproject.toml":
        text = re.sub(rf'(?m)^(name\s*=\s*)"{re.escape(old[0])}"', rf'\g<1>"{new[0]}"', text, count=1)
    return "/".join(parts), text.encode("utf-8")


def _render_config(text: str, name: str) -> str:
    model = name.replace("-", "_")
    text = re.sub(r"(?m)^project:.*$", f"project: {name}", text, count=1)
    return re.sub(r"(?m)^(model:\s*\{?\s*name:\s*)[A-Za-z0-9_.-]+", rf"\g<1>{model}", text, count=1)


def _readme_section(name: str) -> str:
    return f"""{README_MARKER}

This project was scaffolded by `mlops init` (devops-mlops {__version__}).

1. `pip install -r requirements.txt` (the toolkit and this project's own package, `src/{python_name(name)}/`;
   `mlops` itself also finds `src/` without the install, through `python_path` in mlops.yaml).
2. `mlops lint && mlops test && pytest` - lint the notebooks, run the test notebooks locally, and
   the unit tests of the project's own ML code (`src/{python_name(name)}/`: data, features, training,
   evaluation; the notebooks and the `entry_points:` of mlops.yaml call it).
3. `mlops lifecycle` - run the whole lifecycle of `{name}` on this machine (MLflow on sqlite,
   Delta tables under `.mlops/`).
4. Fill in the `staging` and `production` targets in `mlops.yaml`, then
   `mlops azure-devops setup --dry-run` to see what will be created in Azure DevOps.
"""


def planned_files(name: str) -> dict[str, bytes]:
    """Every file init writes, with its content (gitignore/README handled separately)."""
    root = template_root()
    old = template_package(root)
    new = (name, python_name(name))
    out: dict[str, bytes] = {}
    for rel, src in _template_files(root):
        data = src.read_bytes()
        if rel == "mlops.yaml":
            data = _render_config(data.decode("utf-8"), name).encode("utf-8")
        if old is not None and old != new:
            rel, data = _rename(rel, data, old, new)
        out[rel] = data
    # the toolkit, pinned; then the project's own package (what the pipelines install)
    out["requirements.txt"] = f"devops-mlops=={__version__}\n.\n".encode()
    return out


def _existing_text(path: Path) -> str:
    """A file init appends to (.gitignore, README.md): text it can extend, or InputError."""
    if not path.is_file():
        raise InputError("exists and is not a file; init appends to it", path=path)
    if path.stat().st_size > 1024 * 1024:
        raise InputError("is over 1 MB; init appends a few lines to it and expects a text file", path=path)
    raw = path.read_bytes()
    try:
        if b"\x00" in raw:
            raise UnicodeDecodeError("utf-8", raw, raw.index(b"\x00"), raw.index(b"\x00") + 1, "NUL byte")
        return raw.decode("utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("not UTF-8 text; init appends to it (fix or remove it first; nothing was written)",
                         path=path, line=raw[: exc.start].count(b"\n") + 1) from None


def init_project(target: Path, *, name: str | None = None, force: bool = False, dry_run: bool = False,
                 repository: Repository | None = None) -> InitResult:
    """Write the template into ``target`` and make it a git repository when it is in none
    (``repository``: the folder's repository port; its adapter through the composition root by default)."""
    target = target.resolve()
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a folder")
    name = name or target.name
    if not _NAME.match(name):
        raise UsageError(f"invalid project name {name!r}: letters, digits, '-' and '_', starting with a letter")
    result = InitResult(root=target)
    files = planned_files(name)
    writes: dict[Path, bytes] = {}
    for rel, data in files.items():
        path = target / rel
        if path.exists():
            if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
                result.unchanged.append(rel)
                continue
            if not force:
                result.conflicts.append(rel)
                continue
        writes[path] = data
    gitignore = target / ".gitignore"
    current = _existing_text(gitignore) if gitignore.exists() else ""
    missing = [ln for ln in GITIGNORE_LINES if ln not in current.splitlines()]
    if missing:
        sep = "" if not current or current.endswith("\n") else "\n"
        writes[gitignore] = (current + sep + "\n".join(missing) + "\n").encode()
    else:
        result.unchanged.append(".gitignore")
    readme = target / "README.md"
    readme_text = _existing_text(readme) if readme.exists() else f"# {name}\n"
    if README_MARKER not in readme_text:
        writes[readme] = (readme_text.rstrip("\n") + "\n\n" + _readme_section(name)).encode()
    else:
        result.unchanged.append("README.md")
    if result.conflicts:
        shown = ", ".join(result.conflicts[:5]) + (" ..." if len(result.conflicts) > 5 else "")
        raise UsageError(
            f"{len(result.conflicts)} file(s) exist with other content: {shown}",
            path=target,
            hint="nothing was written; use --force to overwrite them",
        )
    for path, data in sorted(writes.items()):
        result.written.append(path.relative_to(target).as_posix())
        if dry_run:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.mlops-init")
        tmp.write_bytes(data)
        tmp.replace(path)
    if not dry_run:
        repository = repository or repository_at(target)
        if not repository.is_repository():
            repository.init()
            result.git_initialised = True
    return result
