"""An in-memory artifact store: the port (devops_mlops/ports/artifacts.py) over a dict of path ->
bytes, passing the contract suite the Databricks and local adapters pass (tests/contract/).

``denied`` holds path prefixes the identity may not write (a put there is CheckFailed, as on a
volume without WRITE VOLUME). Assertion helpers: ``files`` and ``puts`` (every write, in order).
"""

from __future__ import annotations

from ...errors import CheckFailed, InputError


class FakeArtifactStore:
    """The artifact store in memory (see the module docstring)."""

    def __init__(self, files: dict[str, bytes] | None = None, *, denied: tuple[str, ...] = ()) -> None:
        #: path -> bytes stored
        self.files: dict[str, bytes] = dict(files or {})
        #: every path written, in order
        self.puts: list[str] = []
        self.denied = denied

    @staticmethod
    def _check(path: str) -> str:
        if not path.startswith("/") or any(p in (".", "..") for p in path.split("/")):
            raise InputError(f"artifact path {path!r}: an absolute path without '.' or '..' parts")
        return path

    def size(self, path: str) -> int | None:
        data = self.files.get(self._check(path))
        return None if data is None else len(data)

    def put(self, path: str, data: bytes) -> None:
        if self._check(path).startswith(self.denied):
            raise CheckFailed(f"cannot write the artifact {path}: permission denied",
                              hint=f"grant the identity running mlops write access to {path.rsplit('/', 1)[0]}")
        self.files[path] = bytes(data)
        self.puts.append(path)

    def read(self, path: str) -> bytes | None:
        return self.files.get(self._check(path))
