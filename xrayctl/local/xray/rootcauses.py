"""A trace summary's FaultRootCauses and ErrorRootCauses, from the trace's stitched segments.

The service reports where a fault (or error) came from: for each deepest entity with the flag (one whose
descendants, across segments, have none), the chain of services from the top of the trace down to the one that
holds it, each with its `EntityPath` (the entities walked inside that service, from its segment down, with the
exceptions each recorded) and `Inferred` for the segments X-Ray made up for AWS calls. `ClientImpacting` says
whether the flag reached the top of the trace, i.e. the caller saw it. Identical chains are reported once.
Segments link to the node they were called from by `parent_id`; links can loop in hostile data, so every walk
up keeps a visited set, and nothing recurses.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from xrayctl.local.xray.summaries import service_id, service_of

_KINDS = (("FaultRootCauses", "fault"), ("ErrorRootCauses", "error"))


class _Tree:
    """Every node of the trace, with its parent across segments and the segment that holds it."""

    def __init__(self, segments: Sequence[dict[str, Any]]) -> None:
        self.nodes: list[dict[str, Any]] = []
        self.parent: list[int | None] = []
        self.segment: list[int] = []
        by_id: dict[str, int] = {}
        for segment_index, segment in enumerate(segments):
            stack: list[tuple[dict[str, Any], int | None]] = [(segment, None)]
            while stack:
                node, parent = stack.pop()
                index = len(self.nodes)
                self.nodes.append(node)
                self.parent.append(parent)
                self.segment.append(segment_index)
                if isinstance(node.get("id"), str):
                    by_id.setdefault(node["id"], index)
                children = node.get("subsegments")
                if isinstance(children, list):
                    stack.extend((child, index) for child in reversed(children) if isinstance(child, dict))
        for index, parent in enumerate(self.parent):
            if parent is None:  # a segment: its parent is the node that called it, in another segment
                parent_id = self.nodes[index].get("parent_id")
                self.parent[index] = by_id.get(parent_id) if isinstance(parent_id, str) else None
        self.exceptions: dict[str, Mapping[str, Any]] = {}
        for node in self.nodes:
            for exception in _exception_list(node.get("cause")):
                if isinstance(exception.get("id"), str):
                    self.exceptions.setdefault(exception["id"], exception)

    def ancestors(self, index: int) -> list[int]:
        """`index` and the nodes above it, nearest first; a loop of parent links ends the walk."""
        chain = [index]
        seen = {index}
        parent = self.parent[index]
        while parent is not None and parent not in seen:
            chain.append(parent)
            seen.add(parent)
            parent = self.parent[parent]
        return chain

    def entity(self, index: int) -> dict[str, Any]:
        node = self.nodes[index]
        cause = node.get("cause")
        # A cause can be the id of an exception recorded on another node of the trace.
        exceptions = [self.exceptions[cause]] if isinstance(cause, str) and cause in self.exceptions else []
        exceptions += _exception_list(cause)
        return {
            "Name": str(node.get("name", "")),
            "Exceptions": [_root_cause_exception(exception) for exception in exceptions],
            "Remote": node.get("namespace") in ("aws", "remote"),
        }


def _exception_list(cause: Any) -> list[Mapping[str, Any]]:
    exceptions = cause.get("exceptions") if isinstance(cause, Mapping) else None
    return [e for e in exceptions if isinstance(e, Mapping)] if isinstance(exceptions, list) else []


def _root_cause_exception(exception: Mapping[str, Any]) -> dict[str, str]:
    result: dict[str, str] = {}
    if isinstance(exception.get("type"), str):
        result["Name"] = exception["type"]
    if isinstance(exception.get("message"), str):
        result["Message"] = exception["message"]
    return result


def _root_cause(tree: _Tree, leaf: int, flag: str, segments: Sequence[dict[str, Any]]) -> dict[str, Any]:
    chain = tree.ancestors(leaf)[::-1]  # from the top of the trace down to the leaf
    services: list[dict[str, Any]] = []
    current: int | None = None
    for index in chain:
        if tree.segment[index] != current:
            current = tree.segment[index]
            segment = segments[current]
            services.append(
                {
                    **service_id(service_of(segment)),
                    "EntityPath": [],
                    "Inferred": segment.get("inferred") is True,
                }
            )
        services[-1]["EntityPath"].append(tree.entity(index))
    return {"Services": services, "ClientImpacting": tree.nodes[chain[0]].get(flag) is True}


def root_causes(segments: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """FaultRootCauses and ErrorRootCauses of the trace whose stitched segments are `segments`."""
    tree = _Tree(segments)
    result: dict[str, list[dict[str, Any]]] = {}
    for field, flag in _KINDS:
        flagged = [index for index, node in enumerate(tree.nodes) if node.get(flag) is True]
        above_another: set[int] = set()
        for index in flagged:  # mark each node above a flagged one, stopping where an earlier walk did
            ancestor = tree.parent[index]
            while ancestor is not None and ancestor not in above_another:
                above_another.add(ancestor)
                ancestor = tree.parent[ancestor]
        causes: list[dict[str, Any]] = []
        seen: set[str] = set()
        for leaf in (index for index in flagged if index not in above_another):
            cause = _root_cause(tree, leaf, flag, segments)
            key = json.dumps(cause, sort_keys=True)
            if key not in seen:
                seen.add(key)
                causes.append(cause)
        result[field] = causes
    return result
