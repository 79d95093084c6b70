"""Azure DevOps (msrest / azure-devops SDK) exceptions -> devops_mlops.errors, with a hint a person can act on.

Every translated error carries ``code`` (the TF code, e.g. ``"TF402455"``, or
``"401"``, ``"403"``, ``"404"``, ``"unreachable"``, ``"server"``) and
``type_key`` (the service's exception type, when known), so callers branch on
``err.code`` instead of parsing messages::

    with translated("push to main", target):
        git.create_push(...)
    # TF402455 -> ServiceError(code="TF402455"): the branch requires a pull request
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ...errors import ConflictError, MlopsError, ServiceError
from ...ports.devops_admin import build_service_name

if TYPE_CHECKING:  # pragma: no cover
    from .connection import AzureDevOpsTarget

GIT_REPOS_SECURITY = "Project settings > Repositories > {repo} > Security"
_TF = re.compile(r"\b(TF\d{5,6}|VS\d{6})\b")


def _code_of(exc: BaseException) -> tuple[str | None, str | None, str]:
    message = str(getattr(exc, "message", None) or exc)
    type_key = getattr(exc, "type_key", None)
    m = _TF.search(message)
    return (m.group(1) if m else None), type_key, message


def translate(exc: BaseException, *, action: str, target: AzureDevOpsTarget | None = None) -> MlopsError:
    """The MlopsError for an exception raised by the SDK while doing ``action``."""
    from azure.devops.exceptions import AzureDevOpsAuthenticationError, AzureDevOpsServiceError
    from msrest.exceptions import AuthenticationError, ClientRequestError

    code, type_key, message = _code_of(exc)
    org_url = target.organization_url if target else "the organization"
    project = target.project if target else None
    org = target.organization if target else None
    repo = (target.repository if target else None) or "<repository>"
    identity = build_service_name(project, org)
    first = message.strip().splitlines()[0] if message.strip() else type(exc).__name__

    def err(cls: type[MlopsError], text: str, hint: str | None, c: str | None) -> MlopsError:
        e = cls(f"cannot {action}: {text}", hint=hint)
        e.code = c  # type: ignore[attr-defined]
        e.type_key = type_key  # type: ignore[attr-defined]
        return e

    if isinstance(exc, (AzureDevOpsAuthenticationError, AuthenticationError)) or "status code 401" in message:
        return err(ServiceError, f"Azure DevOps refused the token (401) at {org_url}",
                   "set AZURE_DEVOPS_EXT_PAT to a valid personal access token, or map "
                   "SYSTEM_ACCESSTOKEN: $(System.AccessToken) in the step's env", "401")
    if code == "TF401027" or type_key == "GitNeedsPermissionException":
        perm = re.search(r"'(\w+)' permission", message)
        needed = {"GenericContribute": "Contribute", "CreateBranch": "Create branch",
                  "PullRequestContribute": "Contribute to pull requests"}.get(perm.group(1) if perm else "", "Contribute")
        return err(ServiceError, first,
                   f"grant '{identity}' the '{needed}' permission (Allow) in {GIT_REPOS_SECURITY.format(repo=repo)}, "
                   "or run `mlops azure-devops setup`", "TF401027")
    if code == "TF402455" or type_key == "GitRefUpdateRejectedByPolicyException":
        return err(ServiceError, "the branch is protected by a policy that requires a pull request (TF402455)",
                   "push to another branch and open a pull request (scm.protected: true does that)", "TF402455")
    if code == "TF200016" or type_key in ("ProjectDoesNotExistWithNameException", "ProjectDoesNotExistException"):
        missing = re.search(r"does not exist: (.+?)\. Verify", message)
        name = missing.group(1) if missing else project
        return err(ServiceError, f"project {name!r} does not exist in {org_url} (TF200016)",
                   "check scm.azure_devops.project in mlops.yaml or SYSTEM_TEAMPROJECT", "TF200016")
    if code == "TF401019" or type_key == "GitRepositoryNotFoundException":
        return err(ServiceError, f"repository {repo!r} is not in project {project!r} on Azure Repos (TF401019)",
                   "check scm.azure_devops.repository or BUILD_REPOSITORY_NAME", "TF401019")
    if code in ("TF401179", "TF401028") or type_key in ("GitPullRequestExistsException", "GitReferenceStaleException"):
        return err(ConflictError, first, "someone else changed it first; run again", code)
    if code == "TF400813" or type_key in ("UnauthorizedRequestException", "AccessCheckException"):
        return err(ServiceError, f"the token has no right to do this ({code or '403'})",
                   "use a token whose user may do it (a project administrator for setup), or grant the right", "403")
    if isinstance(exc, AzureDevOpsServiceError):
        return err(ServiceError, first, None, code)
    status = re.search(r"returned a (\d{3}) status code|too many (\d{3}) error responses", message)
    if status:
        st = status.group(1) or status.group(2)
        if st.startswith("5") or st == "429":
            return err(ServiceError, f"Azure DevOps answered {st} at {org_url}, also after retrying",
                       "the service is busy or having trouble; try again later, or give it longer with "
                       "--timeout SECONDS or the target's retry_timeout", "server")
        if st == "403":
            return err(ServiceError, "the token has no right to do this (403)",
                       "use a token with the needed scope and permissions", "403")
        if st == "404":
            return err(ServiceError, f"not found at {org_url} (404)", "check scm.azure_devops.organization_url", "404")
        return err(ServiceError, first, None, st)
    if isinstance(exc, ClientRequestError):
        from ..net import unreachable

        reason = unreachable(exc)
        return err(ServiceError, f"cannot reach Azure DevOps at {org_url}" + (f": {reason}" if reason else ""),
                   "check scm.azure_devops.organization_url / SYSTEM_COLLECTIONURI and the network", "unreachable")
    if isinstance(exc, ValueError) and "is not registered on" in message:
        return err(ServiceError, f"{org_url} does not offer this API ({first})",
                   "use Azure DevOps Services or a newer Azure DevOps Server", "404")
    return err(ServiceError, first, None, code)


def is_sdk_error(exc: BaseException) -> bool:
    from msrest.exceptions import ClientException

    if isinstance(exc, ClientException):
        return True
    return isinstance(exc, ValueError) and "API resource location" in str(exc)


@contextmanager
def translated(action: str, target: AzureDevOpsTarget | None = None) -> Iterator[None]:
    """Run SDK calls; re-raise SDK exceptions as MlopsError (the cause kept for ``-v``)."""
    try:
        yield
    except MlopsError:
        raise
    except Exception as exc:
        if not is_sdk_error(exc):
            raise
        raise translate(exc, action=action, target=target) from exc
