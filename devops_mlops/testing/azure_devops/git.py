"""The Git area of the emulator: repositories, refs, pushes, pull requests (with work item refs).

Refs are plain ``name -> objectId`` maps; a push (REST ``pushes``) makes a fake
commit id from its content. Git-over-HTTP pushes are not served here: issue-7
tests push to a real bare repository and call :meth:`GitArea.set_ref` to mirror it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any

from ..http import Request, Response
from .base import AREAS, Location, new_id, now

ZERO = "0" * 40


class GitArea:
    """Mixin for :class:`AzureDevOpsEmulator`; state: ``repositories``, ``refs``, ``pushes``, ``pull_requests``."""

    def _install_git(self) -> None:
        self.repositories: dict[str, dict[str, Any]] = {}  # id -> repo
        self.refs: dict[str, dict[str, str]] = {}  # repo id -> ref name -> object id
        self.pushes: list[dict[str, Any]] = []
        self._pr_ids = itertools.count(1)
        self.pull_requests: list[dict[str, Any]] = []
        #: (repo id, ref name) pairs where a direct push is refused by policy (TF402455)
        self.protected_refs: set[tuple[str, str]] = set()
        #: repo ids where the caller lacks GenericContribute (TF401027)
        self.no_contribute: set[str] = set()
        g = AREAS["git"]
        self.add_location(Location("225f7195-f9c7-4d14-ab28-a83f7ff77e1f", "git", "repositories",
                                   "{project}/_apis/{area}/{resource}/{repositoryId}", area_id=g),
                          get=self._get_repositories)
        self.add_location(Location("2d874a60-a811-4f62-9c9f-963a6ea0a55b", "git", "refs",
                                   "{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{*filter}", area_id=g),
                          get=self._get_refs, post=self._update_refs)
        self.add_location(Location("ea98d07b-3c87-4971-8ede-a613694ffb55", "git", "pushes",
                                   "{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{pushId}",
                                   resource_version=2, area_id=g),
                          get=self._get_pushes, post=self._create_push)
        self.add_location(Location("9946fd70-0d40-406e-b686-b4744cbbcc37", "git", "pullRequests",
                                   "{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{pullRequestId}", area_id=g),
                          get=self._get_pull_requests, post=self._create_pull_request, patch=self._update_pull_request)
        self.add_location(Location("a5d28130-9cd2-40fa-9f08-902e7daa9efb", "git", "pullRequests",
                                   "{project}/_apis/{area}/{resource}", area_id=g),
                          get=self._get_pull_requests)
        self.add_location(Location("01a46dea-7d46-4d40-bc84-319e7c260d99", "git", "pullRequests",
                                   "{project}/_apis/{area}/{resource}/{pullRequestId}", area_id=g),
                          get=self._get_pull_requests)
        self.add_location(Location("0a637fcc-5370-4ce8-b0e8-98091f5f9482", "git", "pullRequestWorkItems",
                                   "{project}/_apis/{area}/repositories/{repositoryId}/pullRequests/{pullRequestId}/workitems",
                                   area_id=g),
                          get=self._get_pr_work_items)

    # ------------------------------------------------------------ seeding (tests)
    def add_repository(self, project: str, name: str, *, default_branch: str = "main",
                       head: str | None = None) -> dict[str, Any]:
        proj = self.project(project)
        rid = new_id()
        repo = {
            "id": rid,
            "name": name,
            "url": f"{self.org_url}/{proj['id']}/_apis/git/repositories/{rid}",
            "project": self.project_ref(proj),
            "defaultBranch": f"refs/heads/{default_branch}" if default_branch else None,
            "size": 0,
            "remoteUrl": f"{self.org_url}/{proj['name']}/_git/{name}",
            "sshUrl": f"git@ssh.dev.azure.com:v3/{self.organization}/{proj['name']}/{name}",
            "webUrl": f"{self.org_url}/{proj['name']}/_git/{name}",
            "isDisabled": False,
        }
        self.repositories[rid] = repo
        self.refs[rid] = {}
        if default_branch:
            self.refs[rid][f"refs/heads/{default_branch}"] = head or hashlib.sha1(rid.encode()).hexdigest()
        return repo

    def set_ref(self, repository: str, name: str, object_id: str) -> None:
        repo = self.repository(None, repository)
        self.refs[repo["id"]][_full_ref(name)] = object_id

    def protect_branch(self, repository: str, branch: str) -> None:
        """Direct pushes to ``branch`` fail with TF402455 (a branch policy requires a PR)."""
        self.protected_refs.add((self.repository(None, repository)["id"], _full_ref(branch)))

    def deny_contribute(self, repository: str) -> None:
        """Pushes and ref updates fail with TF401027 GenericContribute."""
        self.no_contribute.add(self.repository(None, repository)["id"])

    # ------------------------------------------------------------ lookups
    def repository(self, project: str | None, key: str | None) -> dict[str, Any]:
        proj = self.project(project) if project else None
        for repo in self.repositories.values():
            if proj and repo["project"]["id"] != proj["id"]:
                continue
            if key and key.lower() in (repo["id"].lower(), repo["name"].lower()):
                return repo
        raise self.error(404, f"TF401019: The Git repository with name or identifier {key} does not exist or you do not "
                              "have permissions for the operation you are attempting.", "GitRepositoryNotFoundException")

    def _repo_ref(self, repo: dict[str, Any]) -> dict[str, Any]:
        return {k: repo[k] for k in ("id", "name", "url", "project", "remoteUrl")}

    def _check_contribute(self, repo: dict[str, Any], ref: str) -> None:
        if repo["id"] in self.no_contribute:
            ident = self.user
            raise self.error(403, f"TF401027: You need the Git 'GenericContribute' permission to perform this action. "
                                  f"Details: identity '{ident['providerDisplayName']}', scope 'repository'.",
                             "GitNeedsPermissionException")
        if (repo["id"], ref) in self.protected_refs:
            raise self.error(403, "TF402455: Pushes to this branch are not permitted; you must use a pull request to "
                                  "update this branch.", "GitRefUpdateRejectedByPolicyException")

    # ------------------------------------------------------------ repositories
    def _get_repositories(self, req: Request) -> Any:
        key = req.params.get("repositoryId")
        if key:
            return self.repository(req.params.get("project"), key)
        project = req.params.get("project")
        proj = self.project(project) if project else None
        repos = [r for r in self.repositories.values() if proj is None or r["project"]["id"] == proj["id"]]
        return self.collection(repos)

    # ------------------------------------------------------------ refs
    def _ref_json(self, repo: dict[str, Any], name: str, oid: str) -> dict[str, Any]:
        return {"name": name, "objectId": oid, "creator": self.identity_ref(),
                "url": f"{repo['url']}/refs?filter={name[5:]}"}

    def _get_refs(self, req: Request) -> Any:
        repo = self.repository(req.params.get("project"), req.params.get("repositoryId"))
        prefix = req.arg("filter") or req.params.get("filter") or ""
        if prefix and not prefix.startswith("refs/"):
            prefix = "refs/" + prefix
        contains = (req.arg("filterContains") or "").lower()
        refs = [self._ref_json(repo, n, o) for n, o in sorted(self.refs[repo["id"]].items())
                if n.startswith(prefix) and contains in n.lower()]
        return self.collection(refs)

    def _update_refs(self, req: Request) -> Any:
        repo = self.repository(req.params.get("project"), req.params.get("repositoryId"))
        updates = req.json or []
        refs = self.refs[repo["id"]]
        results = []
        for u in updates:
            name, old, new = u["name"], u.get("oldObjectId") or ZERO, u.get("newObjectId") or ZERO
            self._check_contribute(repo, name)
            current = refs.get(name, ZERO)
            ok = current == old
            status = "succeeded" if ok else "staleOldObjectId"
            if ok:
                if new == ZERO:
                    refs.pop(name, None)
                else:
                    refs[name] = new
            results.append({"name": name, "oldObjectId": old, "newObjectId": new, "success": ok, "updateStatus": status,
                            "repositoryId": repo["id"], "isLocked": False, "rejectedBy": None, "customMessage": None})
        return self.collection(results)

    # ------------------------------------------------------------ pushes
    def _create_push(self, req: Request) -> Any:
        repo = self.repository(req.params.get("project"), req.params.get("repositoryId"))
        body = req.json or {}
        refs = self.refs[repo["id"]]
        ref_updates = body.get("refUpdates") or []
        commits = body.get("commits") or []
        if not ref_updates:
            raise self.error(400, "The push must update at least one ref.", "InvalidArgumentValueException")
        out_updates = []
        for u in ref_updates:
            name, old = u["name"], u.get("oldObjectId") or ZERO
            self._check_contribute(repo, name)
            if refs.get(name, ZERO) != old:
                raise self.error(409, f"TF401028: The reference '{name}' has already been updated by another client, "
                                      "so you cannot update it. Please try again.", "GitReferenceStaleException")
        parent = ref_updates[0].get("oldObjectId") or ZERO
        new_commits = []
        for c in commits:
            commit_id = hashlib.sha1((parent + json.dumps(c, sort_keys=True)).encode()).hexdigest()
            new_commits.append({"commitId": commit_id, "comment": c.get("comment", ""), "parents": [parent],
                                "author": c.get("author") or {"name": self.user["providerDisplayName"], "date": now()},
                                "changes": c.get("changes", []),
                                "url": f"{repo['url']}/commits/{commit_id}"})
            parent = commit_id
        for u in ref_updates:
            new = parent if commits else u.get("newObjectId", parent)
            refs[u["name"]] = new
            out_updates.append({"name": u["name"], "oldObjectId": u.get("oldObjectId") or ZERO, "newObjectId": new})
        push = {"pushId": len(self.pushes) + 1, "date": now(), "pushedBy": self.identity_ref(), "refUpdates": out_updates,
                "commits": [{k: v for k, v in c.items() if k != "changes"} for c in new_commits],
                "repository": self._repo_ref(repo), "url": f"{repo['url']}/pushes/{len(self.pushes) + 1}",
                "_changes": [c["changes"] for c in new_commits]}
        self.pushes.append(push)
        return Response(201, {k: v for k, v in push.items() if not k.startswith("_")})

    def _get_pushes(self, req: Request) -> Any:
        repo = self.repository(req.params.get("project"), req.params.get("repositoryId"))
        mine = [{k: v for k, v in p.items() if not k.startswith("_")} for p in self.pushes if p["repository"]["id"] == repo["id"]]
        push_id = req.params.get("pushId")
        if push_id:
            for p in mine:
                if str(p["pushId"]) == push_id:
                    return p
            raise self.error(404, f"TF401180: The requested push {push_id} could not be found.", "GitPushNotFoundException")
        return self.collection(mine)

    # ------------------------------------------------------------ pull requests
    def _pr_json(self, pr: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in pr.items() if not k.startswith("_")}

    def pull_request(self, pr_id: int | str) -> dict[str, Any]:
        for pr in self.pull_requests:
            if str(pr["pullRequestId"]) == str(pr_id):
                return pr
        raise self.error(404, f"TF401180: The requested pull request {pr_id} was not found.", "GitPullRequestNotFoundException")

    def _create_pull_request(self, req: Request) -> Any:
        repo = self.repository(req.params.get("project"), req.params.get("repositoryId"))
        body = req.json or {}
        source, target = body.get("sourceRefName"), body.get("targetRefName")
        if not source or not target or not body.get("title"):
            raise self.error(400, "The pull request needs sourceRefName, targetRefName and title.", "InvalidArgumentValueException")
        refs = self.refs[repo["id"]]
        if source not in refs or target not in refs:
            raise self.error(400, "TF401398: The pull request cannot be activated because the source and/or the target "
                                  "branch no longer exists, or the requested refs are not branches", "InvalidArgumentValueException")
        for pr in self.pull_requests:
            if (pr["repository"]["id"] == repo["id"] and pr["status"] == "active"
                    and pr["sourceRefName"] == source and pr["targetRefName"] == target):
                raise self.error(409, "TF401179: An active pull request for the source and target branch already exists.",
                                 "GitPullRequestExistsException")
        pr_id = next(self._pr_ids)
        work_items = [self.work_item_ref(w.get("id")) for w in body.get("workItemRefs") or []]
        pr = {
            "pullRequestId": pr_id,
            "codeReviewId": pr_id,
            "status": "active",
            "createdBy": self.identity_ref(),
            "creationDate": now(),
            "title": body["title"],
            "description": body.get("description") or "",
            "sourceRefName": source,
            "targetRefName": target,
            "mergeStatus": "succeeded",
            "isDraft": bool(body.get("isDraft")),
            "mergeId": new_id(),
            "lastMergeSourceCommit": {"commitId": refs[source]},
            "lastMergeTargetCommit": {"commitId": refs[target]},
            "reviewers": body.get("reviewers") or [],
            "labels": body.get("labels") or [],
            "url": f"{repo['url']}/pullRequests/{pr_id}",
            "repository": self._repo_ref(repo),
            "supportsIterations": True,
            "artifactId": f"vstfs:///Git/PullRequestId/{repo['project']['id']}%2F{repo['id']}%2F{pr_id}",
            "_workItems": work_items,
        }
        self.pull_requests.append(pr)
        return Response(201, self._pr_json(pr))

    def work_item_ref(self, wid: Any) -> dict[str, Any]:
        return {"id": str(wid), "url": f"{self.org_url}/_apis/wit/workItems/{wid}"}

    def _get_pull_requests(self, req: Request) -> Any:
        pr_id = req.params.get("pullRequestId")
        repo_key = req.params.get("repositoryId") or req.arg("searchCriteria.repositoryId")
        project = req.params.get("project")
        repo = self.repository(project, repo_key) if repo_key else None
        if pr_id:
            pr = self.pull_request(pr_id)
            if repo and pr["repository"]["id"] != repo["id"]:
                raise self.error(404, f"TF401180: The requested pull request {pr_id} was not found.", "GitPullRequestNotFoundException")
            out = self._pr_json(pr)
            if req.arg("includeWorkItemRefs", "false").lower() == "true":
                out["workItemRefs"] = pr["_workItems"]
            return out
        status = (req.arg("searchCriteria.status") or "active").lower()
        src, tgt = req.arg("searchCriteria.sourceRefName"), req.arg("searchCriteria.targetRefName")
        proj = self.project(project) if project else None
        found = [
            self._pr_json(pr) for pr in self.pull_requests
            if (repo is None or pr["repository"]["id"] == repo["id"])
            and (proj is None or pr["repository"]["project"]["id"] == proj["id"])
            and (status == "all" or pr["status"] == status)
            and (src is None or pr["sourceRefName"] == src) and (tgt is None or pr["targetRefName"] == tgt)
        ]
        found.reverse()  # newest first, as the service lists them
        skip, top = int(req.arg("$skip") or 0), req.arg("$top")
        found = found[skip:skip + int(top)] if top else found[skip:]
        return self.collection(found)

    def _update_pull_request(self, req: Request) -> Any:
        repo = self.repository(req.params.get("project"), req.params.get("repositoryId"))
        pr = self.pull_request(req.params.get("pullRequestId"))
        if pr["repository"]["id"] != repo["id"]:
            raise self.error(404, "TF401180: The requested pull request was not found.", "GitPullRequestNotFoundException")
        body = req.json or {}
        for key in ("title", "description", "isDraft", "autoCompleteSetBy", "completionOptions", "mergeOptions"):
            if key in body and body[key] is not None:
                pr[key] = body[key]
        if body.get("status"):
            if pr["status"] != "active" and body["status"] == "active" and pr["status"] == "completed":
                raise self.error(400, "TF401181: The pull request cannot be reactivated.", "InvalidArgumentValueException")
            pr["status"] = body["status"]
            if body["status"] in ("completed", "abandoned"):
                pr["closedDate"] = now()
            if body["status"] == "completed":
                refs = self.refs[repo["id"]]
                refs[pr["targetRefName"]] = refs.get(pr["sourceRefName"], refs.get(pr["targetRefName"], ZERO))
        if body.get("targetRefName") and body["targetRefName"] != pr["targetRefName"]:
            pr["targetRefName"] = body["targetRefName"]
        return self._pr_json(pr)

    def _get_pr_work_items(self, req: Request) -> Any:
        pr = self.pull_request(req.params.get("pullRequestId"))
        return self.collection(pr["_workItems"])

    def link_work_item(self, pr_id: int, work_item_id: int) -> None:
        """What the web UI / WIT ArtifactLink does: attach a work item to a PR."""
        pr = self.pull_request(pr_id)
        if not any(str(w["id"]) == str(work_item_id) for w in pr["_workItems"]):
            pr["_workItems"].append(self.work_item_ref(work_item_id))


def _full_ref(name: str) -> str:
    return name if name.startswith("refs/") else f"refs/heads/{name}"
