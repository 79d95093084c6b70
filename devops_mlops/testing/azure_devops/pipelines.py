"""Placeholder: build definitions, environments, checks, variable groups, policies, security."""

from __future__ import annotations

GIT_NAMESPACE = "2e9eb7ed-3c0a-47d4-87c1-0ffdd275fd87"
GIT_BITS = {
    "Administer": 1, "GenericRead": 2, "GenericContribute": 4, "ForcePush": 8, "CreateBranch": 16,
    "CreateTag": 32, "ManageNote": 64, "PolicyExempt": 128, "CreateRepository": 256, "DeleteRepository": 512,
    "RenameRepository": 1024, "EditPolicies": 2048, "RemoveOthersLocks": 4096, "ManagePermissions": 8192,
    "PullRequestContribute": 16384, "PullRequestBypassPolicy": 32768,
}


class PipelinesArea:
    def _install_pipelines(self) -> None:
        pass
