"""The Files API of the Databricks emulator: Unity Catalog volumes (stateful).

Shapes after the public reference (``/api/2.0/fs``):

* ``PUT /files/Volumes/<catalog>/<schema>/<volume>/<path>?overwrite=true|false``: raw body,
  204; parent directories are created; 409 ``ALREADY_EXISTS`` without ``overwrite``.
* ``GET`` (the bytes, ``Content-Type: application/octet-stream``, ``Last-Modified``), ``HEAD``
  (the same headers, no body), ``DELETE`` (204).
* ``PUT/GET/HEAD/DELETE /directories/...``: create, list (``contents`` of
  ``{path, name, is_directory, file_size, last_modified}``), exists, delete (empty only).

A volume must exist (:meth:`VolumeStore.add_volume`), else 404. :meth:`VolumeStore.deny`
makes writes under a prefix answer 403 ``PERMISSION_DENIED`` (a missing WRITE VOLUME grant).
Assertion helpers: ``emu.volumes.files`` (path -> bytes), ``emu.volumes.bytes_written()``.
"""

from __future__ import annotations

import posixpath
import time
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote

from ..http import HttpError, Request, Response
from .server import err


class VolumeStore:
    def __init__(self, emu: Any):
        self.emu = emu
        self.volumes: set[str] = set()  # "catalog.schema.volume"
        self.files: dict[str, bytes] = {}
        self.mtimes: dict[str, float] = {}
        self.dirs: set[str] = set()
        self.denied: list[str] = []
        r = emu.route
        r("PUT", "/api/2.0/fs/files{path:path}", self._put)
        r("GET", "/api/2.0/fs/files{path:path}", self._get)
        r("HEAD", "/api/2.0/fs/files{path:path}", self._head)
        r("DELETE", "/api/2.0/fs/files{path:path}", self._delete)
        r("PUT", "/api/2.0/fs/directories{path:path}", self._mkdir)
        r("GET", "/api/2.0/fs/directories{path:path}", self._list)
        r("HEAD", "/api/2.0/fs/directories{path:path}", self._dir_head)
        r("DELETE", "/api/2.0/fs/directories{path:path}", self._rmdir)

    # ------------------------------------------------------------ helpers for tests
    def add_volume(self, full_name: str) -> None:
        """Create the volume ``catalog.schema.volume``."""
        if full_name.count(".") != 2:
            raise ValueError("a volume is named catalog.schema.volume")
        self.volumes.add(full_name)
        self.dirs.add("/Volumes/" + full_name.replace(".", "/"))

    def write(self, path: str, data: bytes) -> None:
        """Put a file into an existing volume, as someone else's upload would."""
        with self.emu.lock:
            self._parents(path)
            self.files[path] = bytes(data)
            self.mtimes[path] = time.time()

    def deny(self, prefix: str) -> None:
        """Writes under ``prefix`` fail with 403 PERMISSION_DENIED."""
        self.denied.append(prefix.rstrip("/"))

    def bytes_written(self) -> int:
        return sum(len(r.body) for r in self.emu.requests_by_path(r"^/api/2\.0/fs/files/", "PUT"))

    # ------------------------------------------------------------ paths
    def _path(self, q: Request) -> tuple[str, str]:
        path = posixpath.normpath(unquote(q.params["path"]))
        parts = [p for p in path.split("/") if p]
        if len(parts) < 4 or parts[0] != "Volumes":
            raise err(400, "INVALID_PARAMETER_VALUE", f"Invalid path {path}: expected /Volumes/<catalog>/<schema>/"
                       "<volume>/...")
        volume = ".".join(parts[1:4])
        if volume not in self.volumes:
            raise err(404, "NOT_FOUND", f"Volume '{volume}' does not exist.")
        return path, volume

    def _check_write(self, path: str, volume: str) -> None:
        if any(path == d or path.startswith(d + "/") for d in self.denied):
            raise err(403, "PERMISSION_DENIED", f"User does not have WRITE VOLUME on Volume '{volume}'.")

    def _parents(self, path: str) -> None:
        cur = posixpath.dirname(path)
        while cur.count("/") >= 4:
            self.dirs.add(cur)
            cur = posixpath.dirname(cur)

    def _meta(self, path: str) -> dict[str, str]:
        return {"Last-Modified": formatdate(self.mtimes[path], usegmt=True), "Content-Type": "application/octet-stream"}

    # ------------------------------------------------------------ files
    def _put(self, q: Request) -> Response:
        path, volume = self._path(q)
        self._check_write(path, volume)
        if path in self.dirs:
            raise err(409, "ALREADY_EXISTS", f"{path} is a directory")
        if path in self.files and (q.arg("overwrite") or "false").lower() != "true":
            raise err(409, "ALREADY_EXISTS", f"The file {path} already exists.")
        self._parents(path)
        self.files[path] = bytes(q.body)
        self.mtimes[path] = time.time()
        return Response(204, b"")

    def _file(self, q: Request) -> str:
        path, _ = self._path(q)
        if path not in self.files:
            raise err(404, "NOT_FOUND", f"The file {path} does not exist.")
        return path

    def _get(self, q: Request) -> Response:
        path = self._file(q)
        return Response(200, self.files[path], self._meta(path))

    def _head(self, q: Request) -> Response:
        try:
            path = self._file(q)
        except HttpError as exc:
            return Response(exc.status, b"")  # HEAD answers carry no body
        return Response(200, self.files[path], self._meta(path))

    def _delete(self, q: Request) -> Response:
        path = self._file(q)
        self._check_write(path, self._path(q)[1])
        del self.files[path]
        return Response(204, b"")

    # ------------------------------------------------------------ directories
    def _mkdir(self, q: Request) -> Response:
        path, volume = self._path(q)
        self._check_write(path, volume)
        if path in self.files:
            raise err(409, "ALREADY_EXISTS", f"{path} is a file")
        self._parents(path + "/x")
        return Response(204, b"")

    def _list(self, q: Request) -> dict:
        path, _ = self._path(q)
        if path not in self.dirs:
            raise err(404, "NOT_FOUND", f"The directory {path} does not exist.")
        out = [{"path": d, "name": posixpath.basename(d), "is_directory": True}
               for d in sorted(self.dirs) if posixpath.dirname(d) == path]
        out += [{"path": f, "name": posixpath.basename(f), "is_directory": False, "file_size": len(data),
                 "last_modified": int(self.mtimes[f] * 1000)}
                for f, data in sorted(self.files.items()) if posixpath.dirname(f) == path]
        return {"contents": out} if out else {}

    def _dir_head(self, q: Request) -> Response:
        path, _ = self._path(q)
        return Response(200 if path in self.dirs else 404, b"")

    def _rmdir(self, q: Request) -> Response:
        path, volume = self._path(q)
        self._check_write(path, volume)
        if path not in self.dirs:
            raise err(404, "NOT_FOUND", f"The directory {path} does not exist.")
        if any(posixpath.dirname(p) == path for p in [*self.files, *self.dirs]):
            raise err(409, "DIRECTORY_NOT_EMPTY", f"The directory {path} is not empty.")
        self.dirs.discard(path)
        return Response(204, b"")
