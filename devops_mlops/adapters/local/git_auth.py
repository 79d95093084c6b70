"""How the local git adapter authenticates its network commands and reads their answers.

The token reaches git as an ``http.<url>.extraheader`` passed through the environment
(``GIT_CONFIG_COUNT`` / ``GIT_CONFIG_KEY_n`` / ``GIT_CONFIG_VALUE_n``), never through a URL, a
config file or an argument; an empty value first clears any header a checkout left behind
(``persistCredentials``). Push and fetch output is sorted into the cases a person can act on
(a protected branch, a missing permission, a moved remote, refused credentials).
"""

from __future__ import annotations

import base64
import os
import re
from urllib.parse import urlsplit, urlunsplit

from ...console import mask, register_secret
from ...errors import ServiceError


def auth_header() -> str | None:
    """The ``Authorization`` header value for pushes: SYSTEM_ACCESSTOKEN (bearer),
    else AZURE_DEVOPS_EXT_PAT (basic); None when neither is set."""
    token = os.environ.get("SYSTEM_ACCESSTOKEN")
    if token:
        return f"AUTHORIZATION: bearer {token}"
    pat = os.environ.get("AZURE_DEVOPS_EXT_PAT")
    if pat:
        encoded = base64.b64encode(f":{pat}".encode()).decode()
        register_secret(encoded)
        return f"AUTHORIZATION: basic {encoded}"
    return None


def _key_url(url: str) -> str:
    """The remote URL as a config-key subsection: no password, no query."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = f"{userinfo.split(':', 1)[0]}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def auth_env(url: str | None, header: str | None = None, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a git network command against ``url``: never prompts, and for
    an http(s) remote carries the extra header as command-line-level config."""
    env = dict(base if base is not None else os.environ)
    out = {"GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never"}
    header = header if header is not None else auth_header()
    if url and header and urlsplit(url).scheme in ("http", "https"):
        try:
            n = int(env.get("GIT_CONFIG_COUNT", "0") or 0)
        except ValueError:
            n = 0
        key = f"http.{_key_url(url)}.extraheader"
        out[f"GIT_CONFIG_KEY_{n}"] = key
        out[f"GIT_CONFIG_VALUE_{n}"] = ""  # clears headers a checkout persisted
        out[f"GIT_CONFIG_KEY_{n + 1}"] = key
        out[f"GIT_CONFIG_VALUE_{n + 1}"] = header
        out["GIT_CONFIG_COUNT"] = str(n + 2)
    return out


def classify_push(output: str) -> str:
    """The case a failed push or fetch is (see :class:`devops_mlops.ports.git.PushResult`)."""
    if "TF402455" in output:
        return "protected"
    if "TF401027" in output:
        return "permission"
    if re.search(r"\((fetch first|non-fast-forward|stale info)\)", output):
        return "non-fast-forward"
    if re.search(r"Authentication failed|returned error: 40[13]|could not read Username", output):
        return "auth"
    return "error"


def stderr_of(exc) -> str:
    """The stderr of a gitpython GitCommandError, as text without gitpython's wrapping."""
    err = exc.stderr if isinstance(exc.stderr, str) else (exc.stderr or b"").decode("utf-8", "replace")
    err = err.strip()
    if err.startswith("stderr: '"):
        err = err[len("stderr: '") :].rstrip("'")
    return err.strip()


def summary(text: str) -> str:
    """The lines a person needs from git's push output."""
    keep = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line == "Done" or line.startswith("To "):
            continue
        keep.append(line)
    return "; ".join(dict.fromkeys(keep))[:800]


def network_error(action: str, kind: str, err: str, url: str | None) -> ServiceError:
    """The error of a failed fetch or push, with the fix for refused credentials."""
    if kind == "auth":
        return ServiceError(
            f"git {action} to {mask(url or '?')} was refused: authentication failed",
            hint="map the token into the step: env: {SYSTEM_ACCESSTOKEN: $(System.AccessToken)}",
        )
    return ServiceError(f"git {action} failed: {mask(summary(err))}")
