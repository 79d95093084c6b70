"""The pull-request review part of the emulator's Git area: comment threads, comments,
iterations, iteration changes and item content, in the documented shapes.

Routes (location ids as the service advertises them)::

    GET/POST  {project}/_apis/git/repositories/{repositoryId}/pullRequests/{pullRequestId}/threads
    GET/PATCH .../pullRequests/{pullRequestId}/threads/{threadId}
    PATCH     .../pullRequests/{pullRequestId}/threads/{threadId}/comments/{commentId}
    GET       .../pullRequests/{pullRequestId}/iterations[/{iterationId}]
    GET       .../pullRequests/{pullRequestId}/iterations/{iterationId}/changes
    GET       {project}/_apis/git/repositories/{repositoryId}/items?path=&versionDescriptor.version=

Seeding: :meth:`PullRequestReviewArea.add_pull_request` opens a pull request whose first iteration
takes the files from ``base`` (the target branch) to ``head`` (the source branch);
:meth:`push_iteration` adds the next push. Files live in commit snapshots (``commits``:
commit id -> {path: bytes}), so changes and item content come from real data.
Assertion helpers: ``threads`` (pull request id -> list of thread dicts).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..http import Request, Response
from .base import AREAS, Location, now

_STATUSES = ("unknown", "active", "fixed", "wontFix", "closed", "byDesign", "pending")


def _properties(props: dict[str, Any] | None) -> dict[str, Any]:
    """A PropertiesCollection as the service answers it: {name: {$type, $value}}."""
    out: dict[str, Any] = {}
    for k, v in (props or {}).items():
        if isinstance(v, dict) and "$value" in v:
            out[k] = {"$type": v.get("$type", "System.String"), "$value": v["$value"]}
        elif isinstance(v, dict) and "value" in v:
            out[k] = {"$type": v.get("type", "System.String"), "$value": v["value"]}
        else:
            out[k] = {"$type": "System.Int32" if isinstance(v, int) else "System.String", "$value": v}
    return out


class PullRequestReviewArea:
    """Mixin for :class:`AzureDevOpsEmulator` (after :class:`GitArea`)."""

    def _install_pr_review(self) -> None:
        self.threads: dict[int, list[dict[str, Any]]] = {}
        self.iterations: dict[int, list[dict[str, Any]]] = {}
        self.commits: dict[str, dict[str, bytes]] = {}
        g = AREAS["git"]
        base = "{project}/_apis/{area}/repositories/{repositoryId}/pullRequests/{pullRequestId}"
        self.add_location(Location("ab6e2e5d-a0b7-4153-b64a-a4efe0d49449", "git", "pullRequestThreads",
                                   base + "/threads/{threadId}", area_id=g),
                          get=self._get_threads, post=self._create_thread, patch=self._update_thread)
        self.add_location(Location("965a3ec7-5ed8-455a-bdcb-835a5ea7fe7b", "git", "pullRequestThreadComments",
                                   base + "/threads/{threadId}/comments/{commentId}", area_id=g),
                          patch=self._update_comment)
        self.add_location(Location("d43911ee-6958-46b0-a42b-8445b8a0d004", "git", "pullRequestIterations",
                                   base + "/iterations/{iterationId}", resource_version=2, area_id=g),
                          get=self._get_iterations)
        self.add_location(Location("4216bdcf-b6b1-4d59-8b82-c34cc183fc8b", "git", "pullRequestIterationChanges",
                                   base + "/iterations/{iterationId}/changes", area_id=g),
                          get=self._get_iteration_changes)
        self.add_location(Location("fb93c0db-47ed-4a31-8c20-47552878fb44", "git", "items",
                                   "{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{*path}", area_id=g),
                          get=self._get_items)

    # ------------------------------------------------------------ seeding (tests)
    def _commit(self, files: dict[str, bytes | str]) -> str:
        snapshot = {("/" + p.lstrip("/")): (v.encode() if isinstance(v, str) else v) for p, v in files.items()}
        cid = hashlib.sha1(json.dumps({p: v.hex() for p, v in sorted(snapshot.items())}).encode()).hexdigest()
        self.commits[cid] = snapshot
        return cid

    def add_pull_request(self, project: str, repository: str, *, base: dict[str, bytes | str],
                         head: dict[str, bytes | str], source: str = "feature", target: str = "main",
                         title: str = "A change") -> dict[str, Any]:
        """Open a pull request from ``source`` to ``target`` whose first iteration changes ``base`` into ``head``."""
        repo = self.repository(project, repository)
        base_id, head_id = self._commit(base), self._commit(head)
        refs = self.refs[repo["id"]]
        refs[f"refs/heads/{target}"], refs[f"refs/heads/{source}"] = base_id, head_id
        pr_id = next(self._pr_ids)
        pr = {"pullRequestId": pr_id, "codeReviewId": pr_id, "status": "active", "createdBy": self.identity_ref(),
              "creationDate": now(), "title": title, "description": "", "sourceRefName": f"refs/heads/{source}",
              "targetRefName": f"refs/heads/{target}", "mergeStatus": "succeeded", "isDraft": False,
              "lastMergeSourceCommit": {"commitId": head_id}, "lastMergeTargetCommit": {"commitId": base_id},
              "reviewers": [], "labels": [], "url": f"{repo['url']}/pullRequests/{pr_id}",
              "repository": self._repo_ref(repo), "supportsIterations": True, "_workItems": [], "_base": base_id}
        self.pull_requests.append(pr)
        self.threads[pr_id] = []
        self.iterations[pr_id] = []
        self._add_iteration(pr, head_id)
        return pr

    def push_iteration(self, pr_id: int, head: dict[str, bytes | str]) -> dict[str, Any]:
        """A new push to the pull request's source branch: its next iteration."""
        pr = self.pull_request(pr_id)
        head_id = self._commit(head)
        repo = self.repository(None, pr["repository"]["id"])
        self.refs[repo["id"]][pr["sourceRefName"]] = head_id
        pr["lastMergeSourceCommit"] = {"commitId": head_id}
        return self._add_iteration(pr, head_id)

    def _add_iteration(self, pr: dict[str, Any], head_id: str) -> dict[str, Any]:
        its = self.iterations[pr["pullRequestId"]]
        it = {"id": len(its) + 1, "description": pr["title"], "author": self.identity_ref(), "createdDate": now(),
              "updatedDate": now(), "sourceRefCommit": {"commitId": head_id},
              "targetRefCommit": {"commitId": pr["_base"]}, "commonRefCommit": {"commitId": pr["_base"]},
              "hasMoreCommits": False, "reason": "create" if not its else "push"}
        its.append(it)
        return it

    # ------------------------------------------------------------ iterations and changes
    def _pr_of(self, req: Request) -> dict[str, Any]:
        repo = self.repository(req.params.get("project"), req.params.get("repositoryId"))
        pr = self.pull_request(req.params.get("pullRequestId"))
        if pr["repository"]["id"] != repo["id"]:
            raise self.error(404, "TF401180: The requested pull request was not found.", "GitPullRequestNotFoundException")
        return pr

    def _iteration(self, pr: dict[str, Any], iteration_id: str | None) -> dict[str, Any]:
        for it in self.iterations.get(pr["pullRequestId"], []):
            if str(it["id"]) == str(iteration_id):
                return it
        raise self.error(404, f"TF401174: The iteration {iteration_id} could not be found.",
                         "GitPullRequestIterationNotFoundException")

    def _one_or_all(self, req: Request, store: dict[int, list[dict[str, Any]]], id_param: str, find) -> Any:
        """GET of a pull request's sub-resource: the one named by ``id_param``, else the collection."""
        pr = self._pr_of(req)
        if req.params.get(id_param):
            return find(pr, req.params[id_param])
        return self.collection(store.get(pr["pullRequestId"], []))

    def _get_iterations(self, req: Request) -> Any:
        return self._one_or_all(req, self.iterations, "iterationId", self._iteration)

    def _get_iteration_changes(self, req: Request) -> Any:
        pr = self._pr_of(req)
        it = self._iteration(pr, req.params.get("iterationId"))
        compare = int(req.arg("$compareTo") or 0)
        old = self.commits[self._iteration(pr, compare)["sourceRefCommit"]["commitId"] if compare
                           else it["commonRefCommit"]["commitId"]]
        new = self.commits[it["sourceRefCommit"]["commitId"]]
        entries = []
        for n, path in enumerate(sorted(set(old) | set(new)), start=1):
            if old.get(path) == new.get(path):
                continue
            kind = "add" if path not in old else "delete" if path not in new else "edit"
            item = {"objectId": hashlib.sha1(new.get(path, b"")).hexdigest(), "path": path,
                    "originalObjectId": hashlib.sha1(old.get(path, b"")).hexdigest()}
            entries.append({"changeTrackingId": n, "changeId": n, "item": item, "changeType": kind})
        skip, top = int(req.arg("$skip") or 0), int(req.arg("$top") or 100)
        page = entries[skip:skip + top]
        out: dict[str, Any] = {"changeEntries": page}
        if skip + top < len(entries):
            out.update(nextSkip=skip + top, nextTop=top)
        return out

    def _get_items(self, req: Request) -> Any:
        self.repository(req.params.get("project"), req.params.get("repositoryId"))
        path = "/" + (req.arg("path") or req.params.get("path") or "").lstrip("/")
        version = req.arg("versionDescriptor.version") or ""
        files = self.commits.get(version)
        if files is None or path not in files:
            raise self.error(404, f"TF401174: The item '{path}' could not be found in the repository at version "
                                  f"{version!r}.", "GitItemNotFoundException")
        if req.headers.get("accept", "").startswith("application/json") and req.arg("includeContent") == "true":
            return {"objectId": hashlib.sha1(files[path]).hexdigest(), "path": path, "commitId": version,
                    "content": files[path].decode("utf-8", "replace")}
        return Response(200, files[path], {"Content-Type": "application/octet-stream"})

    # ------------------------------------------------------------ threads and comments
    def _find_thread(self, pr: dict[str, Any], thread_id: str | None) -> dict[str, Any]:
        for t in self.threads.get(pr["pullRequestId"], []):
            if str(t["id"]) == str(thread_id):
                return t
        raise self.error(404, f"TF401181: The thread {thread_id} could not be found.", "CommentThreadNotFoundException")

    def _comment_json(self, pr_id: int, thread_id: int, n: int, body: dict[str, Any]) -> dict[str, Any]:
        return {"id": n, "parentCommentId": body.get("parentCommentId") or 0, "author": self.identity_ref(),
                "content": body.get("content") or "", "publishedDate": now(), "lastUpdatedDate": now(),
                "lastContentUpdatedDate": now(), "commentType": body.get("commentType") or "text",
                "usersLiked": [], "_links": {"self": {"href": f"{self.org_url}/threads/{thread_id}/comments/{n}"}}}

    def _get_threads(self, req: Request) -> Any:
        return self._one_or_all(req, self.threads, "threadId", self._find_thread)

    def _create_thread(self, req: Request) -> Any:
        pr = self._pr_of(req)
        body = req.json or {}
        comments = body.get("comments") or []
        if not comments:
            raise self.error(400, "The thread must contain at least one comment.", "InvalidArgumentValueException")
        status = body.get("status") or "active"
        if status not in _STATUSES:
            raise self.error(400, f"Invalid thread status {status!r}.", "InvalidArgumentValueException")
        threads = self.threads.setdefault(pr["pullRequestId"], [])
        tid = self.next_id()
        thread = {"id": tid, "publishedDate": now(), "lastUpdatedDate": now(),
                  "comments": [self._comment_json(pr["pullRequestId"], tid, n, c) for n, c in enumerate(comments, 1)],
                  "status": status, "threadContext": body.get("threadContext"),
                  "properties": _properties(body.get("properties")), "identities": None, "isDeleted": False,
                  "_links": {"self": {"href": f"{pr['url']}/threads/{tid}"}}}
        threads.append(thread)
        return Response(200, thread)

    def _update_thread(self, req: Request) -> Any:
        pr = self._pr_of(req)
        thread = self._find_thread(pr, req.params.get("threadId"))
        body = req.json or {}
        if body.get("status"):
            if body["status"] not in _STATUSES:
                raise self.error(400, f"Invalid thread status {body['status']!r}.", "InvalidArgumentValueException")
            thread["status"] = body["status"]
        if body.get("properties"):
            thread["properties"].update(_properties(body["properties"]))
        thread["lastUpdatedDate"] = now()
        return thread

    def _update_comment(self, req: Request) -> Any:
        pr = self._pr_of(req)
        thread = self._find_thread(pr, req.params.get("threadId"))
        for c in thread["comments"]:
            if str(c["id"]) == str(req.params.get("commentId")):
                if (req.json or {}).get("content") is not None:
                    c["content"] = req.json["content"]
                    c["lastUpdatedDate"] = c["lastContentUpdatedDate"] = now()
                thread["lastUpdatedDate"] = now()
                return c
        raise self.error(404, f"TF401182: The comment {req.params.get('commentId')} could not be found.",
                         "CommentNotFoundException")
