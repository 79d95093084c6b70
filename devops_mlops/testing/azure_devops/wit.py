"""The Work Item Tracking area: create/update work items (JSON Patch), get, WIQL, comments.

WIQL is evaluated for the flat queries tools write: ``SELECT ... FROM WorkItems
WHERE <cond> [AND|OR <cond>]... [ORDER BY ...]`` with ``=``, ``<>``, ``CONTAINS``,
``NOT CONTAINS``, ``IN (...)``, ``NOT IN (...)`` and ``@project``; anything else
is answered 400 (so a test never passes on a query the emulator did not understand).
"""

from __future__ import annotations

import re
from typing import Any

from ..http import Request, Response
from .base import AREAS, Location, now

TYPES = ("Bug", "Task", "Issue", "User Story", "Epic", "Feature", "Product Backlog Item", "Test Case")
_COND = re.compile(
    r"\[?(?P<field>[\w.]+)\]?\s+(?P<op>=|<>|NOT\s+CONTAINS|CONTAINS|NOT\s+IN|IN)\s+"
    r"(?P<value>'(?:[^']|'')*'|@\w+|\((?:\s*'(?:[^']|'')*'\s*,?)+\))",
    re.IGNORECASE,
)


class WitArea:
    """Mixin; state: ``work_items`` (id -> item), ``comments`` (id -> [text])."""

    def _install_wit(self) -> None:
        self.work_items: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, list[dict[str, Any]]] = {}
        w = AREAS["wit"]
        self.add_location(Location("62d3d110-0047-428c-ad3c-4fe872c91c74", "wit", "workItems",
                                   "{project}/_apis/{area}/workitems/${type}", resource_version=3, area_id=w),
                          post=self._create_work_item)
        self.add_location(Location("72c7ddf8-2cdc-4f60-90cd-ab71c14a399b", "wit", "workItems",
                                   "{project}/_apis/{area}/{resource}/{id}", resource_version=3, area_id=w),
                          get=self._get_work_items, patch=self._update_work_item)
        self.add_location(Location("1a9c53f7-f243-4447-b110-35ef023636e4", "wit", "wiql",
                                   "{project}/{team}/_apis/{area}/{resource}/{id}", resource_version=2, area_id=w),
                          post=self._wiql)
        self.add_location(Location("608aac0a-32e1-4493-a863-b9cf4566d257", "wit", "comments",
                                   "{project}/_apis/{area}/workItems/{workItemId}/{resource}/{commentId}",
                                   resource_version=4, area_id=w),
                          post=self._add_comment, get=self._get_comments)

    # ------------------------------------------------------------ helpers
    def _wi_json(self, item: dict[str, Any]) -> dict[str, Any]:
        out = {"id": item["id"], "rev": item["rev"], "fields": dict(item["fields"]),
               "url": f"{self.org_url}/_apis/wit/workItems/{item['id']}",
               "_links": {"html": {"href": f"{self.org_url}/{item['fields']['System.TeamProject']}/_workitems/edit/{item['id']}"}}}
        if item["relations"]:
            out["relations"] = list(item["relations"])
        return out

    def work_item(self, wid: Any) -> dict[str, Any]:
        try:
            return self.work_items[int(wid)]
        except (KeyError, ValueError):
            raise self.error(404, f"TF401232: Work item {wid} does not exist, or you do not have permissions to read it.",
                             "WorkItemUnauthorizedAccessException") from None

    def _apply_patch(self, item: dict[str, Any], ops: Any, project: dict[str, Any]) -> None:
        if not isinstance(ops, list):
            raise self.error(400, "You must pass a valid patch document in the body of the request.", "VssPropertyValidationException")
        fields = item["fields"]
        for op in ops:
            kind, path, value = op.get("op", "").lower(), op.get("path", ""), op.get("value")
            if kind == "test":
                continue
            if path.startswith("/fields/"):
                name = path[len("/fields/"):]
                if name == "System.AreaPath" and value and not str(value).split("\\")[0].lower() == project["name"].lower():
                    raise self.error(400, f"TF401347: Invalid tree name given for work item {item['id'] or -1}, "
                                          f"field 'System.AreaPath'.", "WorkItemFieldInvalidTreeNameException")
                if name == "System.History":
                    self.comments.setdefault(item["id"], []).append(self._comment(item["id"], str(value)))
                if kind == "remove":
                    fields.pop(name, None)
                elif kind in ("add", "replace"):
                    fields[name] = value
                else:
                    raise self.error(400, f"Unsupported patch operation {kind!r}", "VssPropertyValidationException")
            elif path.startswith("/relations"):
                if kind == "add":
                    item["relations"].append(value)
                    self._on_relation(item, value or {})
                elif kind == "remove":
                    idx = int(path.rsplit("/", 1)[-1])
                    item["relations"].pop(idx)
            else:
                raise self.error(400, f"Invalid patch path {path!r}", "VssPropertyValidationException")

    def _on_relation(self, item: dict[str, Any], rel: dict[str, Any]) -> None:
        url = str(rel.get("url", ""))
        m = re.match(r"vstfs:///Git/PullRequestId/[^/]+%2F[^/]+%2F(\d+)$", url, re.IGNORECASE)
        if rel.get("rel") == "ArtifactLink" and m and hasattr(self, "pull_requests"):
            self.link_work_item(int(m.group(1)), item["id"])

    def _comment(self, wid: int, text: str) -> dict[str, Any]:
        return {"workItemId": wid, "id": len(self.comments.get(wid, [])) + 1, "version": 1, "text": text,
                "createdBy": self.identity_ref(), "createdDate": now()}

    # ------------------------------------------------------------ handlers
    def _create_work_item(self, req: Request) -> Any:
        project = self.project(req.params.get("project"))
        wtype = req.params.get("type", "")
        match = next((t for t in TYPES if t.lower() == wtype.lower()), None)
        if match is None:
            raise self.error(404, f"VS402323: Work item type {wtype} does not exist in project {project['name']} or you "
                                  "do not have permission to access it.", "WorkItemTypeNotFoundException")
        item = {"id": 0, "rev": 1, "relations": [], "fields": {
            "System.TeamProject": project["name"], "System.AreaPath": project["name"],
            "System.IterationPath": project["name"], "System.WorkItemType": match, "System.State": "New",
            "System.Reason": "New", "System.CreatedDate": now(), "System.CreatedBy": self.identity_ref(),
            "System.ChangedDate": now(), "System.ChangedBy": self.identity_ref(), "System.CommentCount": 0,
        }}
        self._apply_patch(item, req.json, project)
        if not item["fields"].get("System.Title"):
            raise self.error(400, "TF401320: Rule Error for field Title. Error code: Required, HasValues, LimitedToValues, "
                                  "AllowsOldValue, InAdmin.", "RuleValidationException")
        if req.arg("validateOnly", "false").lower() == "true":
            return self._wi_json(item)
        item["id"] = max(self.work_items, default=0) + 1
        for c in self.comments.pop(0, []):
            c["workItemId"] = item["id"]
            self.comments.setdefault(item["id"], []).append(c)
        item["fields"]["System.Id"] = item["id"]
        self.work_items[item["id"]] = item
        return self._wi_json(item)

    def _update_work_item(self, req: Request) -> Any:
        item = self.work_item(req.params.get("id"))
        project = self.project(item["fields"]["System.TeamProject"])
        self._apply_patch(item, req.json, project)
        item["rev"] += 1
        item["fields"]["System.ChangedDate"] = now()
        item["fields"]["System.Rev"] = item["rev"]
        item["fields"]["System.CommentCount"] = len(self.comments.get(item["id"], []))
        return self._wi_json(item)

    def _get_work_items(self, req: Request) -> Any:
        if req.params.get("id"):
            return self._wi_json(self.work_item(req.params["id"]))
        ids = [i for i in (req.arg("ids") or "").split(",") if i]
        if not ids:
            raise self.error(400, "The ids parameter is required.", "ArgumentNullException")
        omit = (req.arg("errorPolicy") or "").lower() == "omit"
        out = []
        for i in ids:
            if int(i) in self.work_items:
                out.append(self._wi_json(self.work_items[int(i)]))
            elif omit:
                out.append(None)
            else:
                self.work_item(i)
        return self.collection(out)

    def _wiql(self, req: Request) -> Any:
        project = self.project(req.params.get("project")) if req.params.get("project") else None
        query = ((req.json or {}).get("query") or "").strip()
        m = re.match(r"^SELECT\s+(?P<cols>.+?)\s+FROM\s+WorkItems(?:\s+WHERE\s+(?P<where>.+?))?"
                     r"(?:\s+ORDER\s+BY\s+(?P<order>.+))?$", query, re.IGNORECASE | re.DOTALL)
        if not m:
            raise self.error(400, f"TF51005: The query references a field or syntax the emulator does not support: {query!r}",
                             "WorkItemTrackingQueryException")
        conds, joins = self._parse_where(m.group("where") or "", query)
        found = []
        for item in self.work_items.values():
            results = [self._eval(item, c, project) for c in conds]
            ok = results[0] if results else True
            for j, r in zip(joins, results[1:]):
                ok = (ok and r) if j == "AND" else (ok or r)
            if ok:
                found.append(item["id"])
        top = req.arg("$top")
        if top:
            found = found[: int(top)]
        cols = [c.strip().strip("[]") for c in m.group("cols").split(",")]
        return {"queryType": "flat", "queryResultType": "workItem", "asOf": now(),
                "columns": [{"referenceName": c, "name": c, "url": f"{self.org_url}/_apis/wit/fields/{c}"} for c in cols],
                "workItems": [{"id": i, "url": f"{self.org_url}/_apis/wit/workItems/{i}"} for i in found]}

    def _parse_where(self, where: str, query: str) -> tuple[list[re.Match], list[str]]:
        conds, joins, pos = [], [], 0
        where = where.strip()
        while pos < len(where):
            m = _COND.match(where, pos)
            if not m:
                raise self.error(400, f"TF51006: The query could not be evaluated by the emulator near "
                                      f"{where[pos:pos + 30]!r}: {query!r}", "WorkItemTrackingQueryException")
            conds.append(m)
            pos = m.end()
            j = re.match(r"\s+(AND|OR)\s+", where[pos:], re.IGNORECASE)
            if j:
                joins.append(j.group(1).upper())
                pos += j.end()
            elif where[pos:].strip():
                raise self.error(400, f"TF51006: unexpected {where[pos:]!r} in WIQL", "WorkItemTrackingQueryException")
            else:
                break
        return conds, joins

    @staticmethod
    def _values(raw: str, project: dict[str, Any] | None) -> list[str]:
        if raw.lower() == "@project":
            return [project["name"] if project else ""]
        if raw.startswith("("):
            return [v.replace("''", "'") for v in re.findall(r"'((?:[^']|'')*)'", raw)]
        return [raw[1:-1].replace("''", "'")]

    def _eval(self, item: dict[str, Any], cond: re.Match, project: dict[str, Any] | None) -> bool:
        field, op = cond.group("field"), " ".join(cond.group("op").upper().split())
        values = [v.lower() for v in self._values(cond.group("value"), project)]
        actual = item["fields"].get(field)
        text = "" if actual is None else str(actual).lower()
        if field == "System.Tags":
            tags = [t.strip().lower() for t in text.split(";") if t.strip()]
            has = values[0] in tags if op in ("CONTAINS", "NOT CONTAINS") else None
        if op == "=":
            return text == values[0]
        if op == "<>":
            return text != values[0]
        if op == "CONTAINS":
            return has if field == "System.Tags" else values[0] in text
        if op == "NOT CONTAINS":
            return (not has) if field == "System.Tags" else values[0] not in text
        if op == "IN":
            return text in values
        return text not in values  # NOT IN

    def _add_comment(self, req: Request) -> Any:
        item = self.work_item(req.params.get("workItemId"))
        text = (req.json or {}).get("text") or ""
        comment = self._comment(item["id"], text)
        self.comments.setdefault(item["id"], []).append(comment)
        item["fields"]["System.CommentCount"] = len(self.comments[item["id"]])
        return Response(200, comment)

    def _get_comments(self, req: Request) -> Any:
        item = self.work_item(req.params.get("workItemId"))
        comments = self.comments.get(item["id"], [])
        return {"totalCount": len(comments), "count": len(comments), "comments": comments}
