"""Graph walks the checker needs: reachability, strongly connected components (cycles) and
one shortest loop through a component, all iterative so long chains never hit the recursion
limit.
"""

from __future__ import annotations

from engine.graph.document import Node

__all__ = ["find_loop", "reachable", "strongly_connected"]


def reachable(starts: list[str], outgoing) -> set[str]:
    seen = set(starts)
    stack = list(starts)
    while stack:
        for e in outgoing.get(stack.pop(), []):
            if e.target not in seen:
                seen.add(e.target)
                stack.append(e.target)
    return seen


def strongly_connected(nodes: dict[str, Node], outgoing) -> list[list[str]]:
    """Tarjan's algorithm, iterative (a long chain must not hit the recursion limit)."""
    index_of: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index_of:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index_of[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            succ = [e.target for e in outgoing.get(node, [])]
            recursed = False
            while i < len(succ):
                nxt = succ[i]
                i += 1
                if nxt not in index_of:
                    work.append((node, i))
                    work.append((nxt, 0))
                    recursed = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index_of[nxt])
            if recursed:
                continue
            if low[node] == index_of[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return components


def find_loop(component: list[str], outgoing, index: dict[str, int]) -> list[str]:
    """One actual loop through a cyclic component, starting at its first node in document
    order (breadth-first, so the loop is a shortest one)."""
    members = set(component)
    start = min(component, key=index.__getitem__)
    parent: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for e in outgoing.get(node, []):
                if e.target not in members:
                    continue
                if e.target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return list(reversed(path))
                if e.target not in parent:
                    parent[e.target] = node
                    following.append(e.target)
        frontier = following
    return [start]
