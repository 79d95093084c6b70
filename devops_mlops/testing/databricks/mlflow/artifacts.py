"""The bytes behind the MLflow emulator: run, logged-model and model-version artifacts.

Every artifact lives in one store, ``MlflowStore.artifacts`` (key -> bytes), under the path the
service gives it:

* a run: ``/databricks/mlflow-tracking/<experiment>/<run>/artifacts/<path>``
* a logged model: ``/databricks/mlflow-tracking/<experiment>/logged_models/<model>/artifacts/<path>``
* a Unity Catalog model version: ``/Models/<catalog>/<schema>/<model>/<version>/<path>``
* a workspace-registry model version (a copy of its source, made at creation):
  ``/registry/<name>/<version>/<path>``

The ways in, as mlflow's clients use them:

* signed URLs (credential type ``AWS_PRESIGNED_URL``) from ``/api/2.0/mlflow/artifacts/
  credentials-for-write|read``, ``/logged-models/<id>/artifacts/credentials-for-upload|download``,
  ``/api/2.0/fs/create-upload-url|create-download-url`` and ``/model-versions/
  get-signed-download-uri``: ``PUT``/``GET <emu.url>/storage/<key>?X-Amz-Expires=..&X-Amz-Signature=..``,
  served by the emulator itself with no bearer token (the signature is the credential; a wrong or
  expired one answers 403 with an S3-style XML error);
* the Files API (``/api/2.0/fs/files|directories``) under ``/WorkspaceInternal/Mlflow/Artifacts/
  <experiment>/Runs|LoggedModels/<id>/...`` (what mlflow's Databricks SDK artifact repositories use
  first) and under ``/Models/...`` (the SDK models artifact repository of Unity Catalog);
* listings: ``/api/2.0/mlflow/artifacts/list``, ``/logged-models/<id>/artifacts/directories``,
  ``/model-versions/list-artifacts``.
"""

from __future__ import annotations

import hashlib
import hmac
import posixpath
import secrets
import time
from email.utils import formatdate
from typing import Any
from urllib.parse import quote, unquote

from ...http import HttpError, Request, Response
from .common import TRACKING_ROOT, arg, arg_list, err, join, missing, need, rel_path

INTERNAL_ROOT = "/WorkspaceInternal/Mlflow/Artifacts"
PRESIGNED = "AWS_PRESIGNED_URL"


class ArtifactRoutes:
    """Mixin of :class:`~devops_mlops.testing.databricks.mlflow.MlflowStore`: the artifact endpoints.

    Model versions come from the registry mixin: ``_ws_version_root(name, version)`` and
    ``_uc_version_for_files(name, version, write)``."""

    emu: Any
    artifacts: dict[str, bytes]
    runs: dict[str, dict]
    logged_models: dict[str, dict]
    #: answer of the Files API for /WorkspaceInternal paths; False: 403, and mlflow falls back to
    #: credentials-for-write/read (signed URLs)
    tracking_files_api: bool = True
    #: lifetime of a signed URL, seconds
    signed_url_ttl: int = 900

    def _artifact_routes(self) -> None:
        self._secret = secrets.token_bytes(16)
        self.mtimes: dict[str, float] = {}
        self.uploaded = 0
        base_authorized = self.emu.authorized

        def authorized(req: Request) -> bool:  # a signed URL carries its own credential, as in S3
            return req.path.startswith("/storage/") or base_authorized(req)

        self.emu.authorized = authorized
        r = self.emu.route
        for method in ("PUT", "GET", "HEAD"):
            r(method, "/storage/{key:path}", self._storage)
        a = "/api/2.0/mlflow"
        r("POST", f"{a}/artifacts/credentials-for-write", lambda q: self._run_credentials(q, "PUT"))
        r("POST", f"{a}/artifacts/credentials-for-read", lambda q: self._run_credentials(q, "GET"))
        r("GET", f"{a}/artifacts/list", self._list_run_artifacts)
        r("POST", f"{a}/logged-models/{{model_id}}/artifacts/credentials-for-upload",
          lambda q: self._model_credentials(q, "PUT"))
        r("POST", f"{a}/logged-models/{{model_id}}/artifacts/credentials-for-download",
          lambda q: self._model_credentials(q, "GET"))
        r("GET", f"{a}/logged-models/{{model_id}}/artifacts/directories", self._list_model_artifacts)
        r("GET", f"{a}/model-versions/list-artifacts", self._list_version_artifacts)
        r("GET", f"{a}/model-versions/get-signed-download-uri", self._version_download_uri)
        r("POST", "/api/2.0/fs/create-upload-url", lambda q: self._presigned(q, "PUT"))
        r("POST", "/api/2.0/fs/create-download-url", lambda q: self._presigned(q, "GET"))
        # ahead of the volume routes, which answer 400 for any path outside /Volumes
        for root in (INTERNAL_ROOT, "/Models"):
            for method, handler in (("PUT", self._fs_put), ("GET", self._fs_get), ("HEAD", self._fs_head),
                                    ("DELETE", self._fs_delete)):
                self._route_first(method, "/api/2.0/fs/files" + root + "/{path:path}", handler)
            for method, handler in (("PUT", self._fs_mkdir), ("GET", self._fs_list), ("HEAD", self._fs_dir_head)):
                self._route_first(method, "/api/2.0/fs/directories" + root + "/{path:path}", handler)

    def _route_first(self, method: str, pattern: str, handler: Any) -> None:
        self.emu.route(method, pattern, handler)
        routes = self.emu._routes
        routes.insert(0, routes.pop())

    # ------------------------------------------------------------ helpers for tests
    def bytes_written(self) -> int:
        """Bytes of artifacts uploaded and stored (signed URLs and the Files API paths of MLflow)."""
        return self.uploaded

    def files_under(self, prefix: str) -> dict[str, bytes]:
        """Stored artifacts under ``prefix`` (a key such as ``/Models/main/ml/demand/1``), by relative path."""
        prefix = prefix.rstrip("/")
        with self.emu.lock:
            return {k[len(prefix) + 1:]: v for k, v in self.artifacts.items() if k.startswith(prefix + "/")}

    # ------------------------------------------------------------ store
    def _write(self, key: str, data: bytes) -> None:
        self.artifacts[key] = bytes(data)
        self.mtimes[key] = time.time()

    def _children(self, root: str) -> list[dict[str, Any]]:
        """Immediate children of ``root``: ``{path (key), is_dir, file_size}``, sorted."""
        seen: dict[str, dict[str, Any]] = {}
        for key, data in self.artifacts.items():
            if not key.startswith(root + "/"):
                continue
            head, _, rest = key[len(root) + 1:].partition("/")
            path = f"{root}/{head}"
            if rest:
                seen.setdefault(path, {"path": path, "is_dir": True})
            else:
                seen[path] = {"path": path, "is_dir": False, "file_size": len(data)}
        return [seen[k] for k in sorted(seen)]

    def _is_dir(self, key: str) -> bool:
        return any(k.startswith(key + "/") for k in self.artifacts)

    def _listing(self, root: str, path: str | None) -> list[dict[str, Any]]:
        """mlflow's ListArtifacts: children of ``root/path`` relative to ``root``; a file lists as itself."""
        rel = rel_path(path)
        key = join(root, rel)
        if key in self.artifacts:
            return [{"path": rel, "is_dir": False, "file_size": len(self.artifacts[key])}]
        out = []
        for child in self._children(key):
            entry = dict(child, path=child["path"][len(root) + 1:])
            out.append(entry)
        return out

    # ------------------------------------------------------------ signed URLs
    def _signature(self, method: str, key: str, expires: str) -> str:
        return hmac.new(self._secret, f"{method}\n{key}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def signed_url(self, method: str, key: str) -> str:
        expires = str(int(time.time()) + self.signed_url_ttl)
        sig = self._signature(method, key, expires)
        return f"{self.emu.url}/storage{quote(key)}?X-Amz-Expires={expires}&X-Amz-Signature={sig}"

    def _credential(self, method: str, key: str, **extra: Any) -> dict[str, Any]:
        return {**extra, "signed_uri": self.signed_url(method, key), "type": PRESIGNED, "headers": []}

    @staticmethod
    def _s3_error(status: int, code: str, message: str) -> Response:
        body = f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
        return Response(status, body.encode(), {"Content-Type": "application/xml"})

    def _storage(self, q: Request) -> Response:
        key = "/" + unquote(q.params["key"])
        expires, sig = q.arg("X-Amz-Expires", ""), q.arg("X-Amz-Signature", "")
        signed_for = "GET" if q.method == "HEAD" else q.method
        if not sig or not hmac.compare_digest(sig, self._signature(signed_for, key, expires)):
            return self._s3_error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match.")
        if int(expires or 0) < time.time():
            return self._s3_error(403, "AccessDenied", "Request has expired")
        if q.method == "PUT":
            self._write(key, q.body)
            self.uploaded += len(q.body)
            return Response(200, b"", {"ETag": '"%s"' % hashlib.md5(q.body).hexdigest()})
        if key not in self.artifacts:
            return self._s3_error(404, "NoSuchKey", "The specified key does not exist.")
        return Response(200, self.artifacts[key], {"Content-Type": "application/octet-stream"})

    # ------------------------------------------------------------ runs and logged models
    def _run(self, run_id: str | None) -> dict:
        run = self.runs.get(run_id or "")
        if run is None:
            raise missing(f"Run '{run_id}' not found.")
        return run

    def _logged_model(self, model_id: str | None) -> dict:
        model = self.logged_models.get(model_id or "")
        if model is None:
            raise missing(f"Logged model with ID '{model_id}' not found.")
        return model

    @staticmethod
    def _root_key(artifact_uri: str) -> str:
        return artifact_uri[len("dbfs:"):] if artifact_uri.startswith("dbfs:") else artifact_uri

    def _run_credentials(self, q: Request, method: str) -> dict:
        run = self._run(arg(q, "run_id"))
        root = self._root_key(run["info"]["artifact_uri"])
        infos = [self._credential(method, join(root, p), run_id=run["info"]["run_id"], path=rel_path(p))
                 for p in arg_list(q, "path")]
        return {"credential_infos": infos}

    def _model_credentials(self, q: Request, method: str) -> dict:
        model = self._logged_model(q.params["model_id"])
        root = self._root_key(model["info"]["artifact_uri"])
        model_id = model["info"]["model_id"]
        creds = [{"model_id": model_id, "credential_info": self._credential(method, join(root, p), path=rel_path(p))}
                 for p in arg_list(q, "paths")]
        return {"credentials": creds}

    def _list_run_artifacts(self, q: Request) -> dict:
        run = self._run(arg(q, "run_id") or arg(q, "run_uuid"))
        root = self._root_key(run["info"]["artifact_uri"])
        return {"root_uri": run["info"]["artifact_uri"], "files": self._listing(root, arg(q, "path"))}

    def _list_model_artifacts(self, q: Request) -> dict:
        model = self._logged_model(q.params["model_id"])
        root = self._root_key(model["info"]["artifact_uri"])
        return {"root_uri": model["info"]["artifact_uri"],
                "files": self._listing(root, arg(q, "artifact_directory_path"))}

    # ------------------------------------------------------------ workspace registry downloads
    def _list_version_artifacts(self, q: Request) -> dict:
        root = self._ws_version_root(need(q, "name"), need(q, "version"))
        return {"files": self._listing(root, arg(q, "path"))}

    def _version_download_uri(self, q: Request) -> dict:
        root = self._ws_version_root(need(q, "name"), need(q, "version"))
        key = join(root, arg(q, "path"))
        if key not in self.artifacts:
            raise missing(f"No artifact at path '{rel_path(arg(q, 'path'))}'.")
        return {"signed_uri": self.signed_url("GET", key), "headers": []}

    # ------------------------------------------------------------ the Files API for MLflow paths
    def _mlflow_key(self, fs_path: str, write: bool) -> str | None:
        """The store key of a Files API path (``/WorkspaceInternal/...`` or ``/Models/...``); None for
        other paths; 404 when its run, model or version is unknown."""
        path = posixpath.normpath("/" + fs_path.lstrip("/"))
        parts = path.strip("/").split("/")
        if parts[:3] == INTERNAL_ROOT.strip("/").split("/"):
            if not self.tracking_files_api:
                raise err(403, "PERMISSION_DENIED", "The Files API does not serve MLflow artifacts on this workspace.")
            if len(parts) < 6 or parts[4] not in ("Runs", "LoggedModels"):
                raise err(404, "NOT_FOUND", f"The path {path} does not exist.")
            experiment_id, kind, ident = parts[3:6]
            owner = (self.runs.get(ident) or {}) if kind == "Runs" else (self.logged_models.get(ident) or {})
            if owner.get("info", {}).get("experiment_id") != experiment_id:
                raise err(404, "NOT_FOUND", f"The path {path} does not exist.")
            middle = ident if kind == "Runs" else f"logged_models/{ident}"
            return "/".join([TRACKING_ROOT, experiment_id, middle, *parts[6:]])
        if parts[0] == "Models":
            if len(parts) < 5:
                raise err(404, "NOT_FOUND", f"The path {path} does not exist.")
            self._uc_version_for_files(".".join(parts[1:4]), parts[4], write)
            return path
        return None

    def _fs_path(self, q: Request) -> str:
        """The Files API path of a request: ``/api/2.0/fs/files|directories<path>``."""
        return "/" + unquote(q.path.split("/", 5)[5]) if q.path.count("/") >= 5 else "/"

    def _fs_key(self, q: Request) -> str:
        key = self._mlflow_key(self._fs_path(q), q.method in ("PUT", "DELETE"))
        if key is None:  # the routes only take MLflow paths
            raise err(404, "NOT_FOUND", f"The path {self._fs_path(q)} does not exist.")
        return key

    def _fs_put(self, q: Request) -> Response:
        key = self._fs_key(q)
        if key in self.artifacts and (q.arg("overwrite") or "false").lower() != "true":
            raise err(409, "ALREADY_EXISTS", f"The file {self._fs_path(q)} already exists.")
        self._write(key, q.body)
        self.uploaded += len(q.body)
        return Response(204, b"")

    def _fs_file(self, q: Request) -> str:
        key = self._fs_key(q)
        if key not in self.artifacts:
            raise err(404, "NOT_FOUND", "The file does not exist.")
        return key

    def _fs_meta(self, key: str) -> dict[str, str]:
        return {"Last-Modified": formatdate(self.mtimes.get(key, time.time()), usegmt=True),
                "Content-Type": "application/octet-stream"}

    def _fs_get(self, q: Request) -> Response:
        key = self._fs_file(q)
        return Response(200, self.artifacts[key], self._fs_meta(key))

    def _fs_head(self, q: Request) -> Response:
        try:
            key = self._fs_file(q)
        except HttpError as exc:
            return Response(exc.status, b"")
        return Response(200, self.artifacts[key], self._fs_meta(key))

    def _fs_delete(self, q: Request) -> Response:
        del self.artifacts[self._fs_file(q)]
        return Response(204, b"")

    def _fs_mkdir(self, q: Request) -> Response:
        self._fs_key(q)  # directories exist through their files
        return Response(204, b"")

    def _fs_dir_key(self, q: Request) -> str:
        key = self._fs_key(q)
        if not self._is_dir(key):
            raise err(404, "NOT_FOUND", f"The directory {self._fs_path(q)} does not exist.")
        return key

    def _fs_list(self, q: Request) -> dict:
        key = self._fs_dir_key(q)
        fs_prefix = posixpath.normpath(self._fs_path(q))
        out = []
        for child in self._children(key):
            name = posixpath.basename(child["path"])
            entry = {"path": f"{fs_prefix}/{name}", "name": name, "is_directory": child["is_dir"]}
            if not child["is_dir"]:
                entry.update(file_size=child["file_size"], last_modified=int(self.mtimes[child["path"]] * 1000))
            out.append(entry)
        return {"contents": out} if out else {}

    def _fs_dir_head(self, q: Request) -> Response:
        try:
            self._fs_dir_key(q)
        except HttpError as exc:
            return Response(exc.status, b"")
        return Response(200, b"")

    # ------------------------------------------------------------ presigned URLs of the Files API (UC)
    def _presigned(self, q: Request, method: str) -> Response | dict:
        path = posixpath.normpath("/" + str(need(q, "path")).lstrip("/"))
        key = self._mlflow_key(path, method == "PUT")
        if key is None:  # not an MLflow path: the emulator has no presigned URLs for volumes
            return self.emu.not_found(q)
        if method == "GET" and key not in self.artifacts:
            raise err(404, "NOT_FOUND", f"The file {path} does not exist.")
        return {"url": self.signed_url(method, key), "headers": []}
