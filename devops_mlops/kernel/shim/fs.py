"""dbutils.fs on local paths: ``dbfs:/x`` and ``/dbfs/x`` under ``MLOPS_DBFS_ROOT``, ``file:/x`` as is."""

from __future__ import annotations

import os
from collections import namedtuple
from pathlib import Path

from . import state

FileInfo = namedtuple("FileInfo", ["path", "name", "size", "modificationTime"])


def local_path(path: str) -> Path:
    """dbfs:/x and /dbfs/x -> $MLOPS_DBFS_ROOT/x; file:/x -> /x; anything else is a local path."""
    p = str(path)
    root = Path(state.cfg.get("dbfs_root") or os.environ.get("MLOPS_DBFS_ROOT") or Path.cwd() / ".dbfs")
    for prefix in ("dbfs:", "/dbfs/"):
        if p.startswith(prefix):
            return root / p[len(prefix):].lstrip("/")
    if p.startswith("file:"):
        rest = p[5:]
        while rest.startswith("//"):
            rest = rest[1:]
        return Path(rest)
    return Path(p)


class Fs:
    """dbutils.fs on local paths."""

    def ls(self, path):
        lp = local_path(path)
        if not lp.exists():
            raise FileNotFoundError(f"{path}: no such file or directory")
        entries = sorted(lp.iterdir()) if lp.is_dir() else [lp]
        base = str(path).rstrip("/")
        out = []
        for e in entries:
            st = e.stat()
            name = e.name + ("/" if e.is_dir() else "")
            full = f"{base}/{name}" if lp.is_dir() else str(path)
            out.append(FileInfo(full, name, 0 if e.is_dir() else st.st_size, int(st.st_mtime * 1000)))
        return out

    def mkdirs(self, path):
        local_path(path).mkdir(parents=True, exist_ok=True)
        return True

    def put(self, file, contents, overwrite=False):
        lp = local_path(file)
        if lp.exists() and not overwrite:
            raise FileExistsError(f"{file} exists (pass overwrite=True)")
        lp.parent.mkdir(parents=True, exist_ok=True)
        lp.write_text(contents, encoding="utf-8")
        return True

    def head(self, file, maxBytes=65536):
        with open(local_path(file), "rb") as fh:
            return fh.read(maxBytes).decode("utf-8", errors="replace")

    def cp(self, src, dst, recurse=False):
        import shutil  # imported when used: the shim is imported in every kernel

        s, d = local_path(src), local_path(dst)
        if s.is_dir():
            if not recurse:
                raise IsADirectoryError(f"{src} is a directory (pass recurse=True)")
            shutil.copytree(s, d, dirs_exist_ok=True)
        else:
            d.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(s, d)
        return True

    def mv(self, src, dst, recurse=False):
        import shutil  # imported when used: the shim is imported in every kernel

        s, d = local_path(src), local_path(dst)
        d.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(s), str(d))
        return True

    def rm(self, path, recurse=False):
        import shutil  # imported when used: the shim is imported in every kernel

        lp = local_path(path)
        if not lp.exists():
            return False
        if lp.is_dir():
            if not recurse:
                raise IsADirectoryError(f"{path} is a directory (pass recurse=True)")
            shutil.rmtree(lp)
        else:
            lp.unlink()
        return True
