"""Auto-arrange: a layered, top-to-bottom layout of a graph. Pure Python: the canvas's
Auto-arrange (Ctrl+L) and the ONNX/model importers (:func:`engine.graph.convert.auto_layout`)
share it, so an imported network opens laid out the way the canvas arranges one.

Steps (the Sugiyama scheme, kept small):

1. layering by longest path from the inputs: each node one row below its lowest input, so
   every edge points down (an edge that closes a cycle is ignored);
2. crossings reduced by barycenter sweeps: each row is re-ordered by the mean position of
   its neighbours in the row above (sweeping down), then below (sweeping up);
3. long graphs wrapped: rows are cut into bands placed side by side as columns, so a long
   chain reads down one column and continues at the top of the next. The band height is
   chosen to make the whole layout fit a viewport of a given aspect at the largest zoom.

:func:`arrange` returns ``{node_id: [x, y]}`` top-left corners, ready for one
``move_nodes`` undo step.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

__all__ = ["NODE_SIZE", "arrange", "fit_zoom", "layers", "order_rows"]

#: The card size the spacing is made for (the canvas theme's NODE_WIDTH, NODE_HEIGHT).
NODE_SIZE = (176.0, 74.0)
_GAP_X = 56.0  # between cards side by side in a row
_GAP_Y = 40.0  # between rows: room for the S of an edge from a right port to a left port
_BAND_GAP = 110.0  # between wrapped columns, wider so the columns read as separate
_SWEEPS = 4
#: Wrapping stops once the whole graph fits at this zoom (or at the best zoom reachable).
COMFORTABLE_ZOOM = 0.8


def layers(node_ids: Sequence[str], edges: Iterable[tuple[str, str]]) -> dict[str, int]:
    """Longest-path row of every node (sources at 0). Cycles are broken at the first node
    (in ``node_ids`` order) still waiting."""
    known = set(node_ids)
    children: dict[str, list[str]] = defaultdict(list)
    waiting = dict.fromkeys(node_ids, 0)
    for source, target in edges:
        if source in known and target in known and source != target:
            children[source].append(target)
            waiting[target] += 1
    row = dict.fromkeys(node_ids, 0)
    placed: set[str] = set()
    ready = [n for n in node_ids if waiting[n] == 0]
    head = 0
    pending = iter(node_ids)
    while len(placed) < len(node_ids):
        if head == len(ready):  # only cycles remain: open one at its first waiting node
            stuck = next(n for n in pending if n not in placed)
            ready.append(stuck)
        node_id = ready[head]
        head += 1
        if node_id in placed:
            continue
        placed.add(node_id)
        for child in children[node_id]:
            if child in placed:  # the edge that closes a cycle
                continue
            row[child] = max(row[child], row[node_id] + 1)
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    return row


def order_rows(
    row: dict[str, int], edges: Iterable[tuple[str, str]], sweeps: int = _SWEEPS
) -> list[list[str]]:
    """The nodes of each row, ordered to reduce crossings (barycenter sweeps down then up).
    Ties keep the previous order, so the result is deterministic."""
    count = max(row.values(), default=-1) + 1
    rows: list[list[str]] = [[] for _ in range(count)]
    for node_id, r in row.items():  # dict order = document order
        rows[r].append(node_id)
    ups: dict[str, list[str]] = defaultdict(list)
    downs: dict[str, list[str]] = defaultdict(list)
    for source, target in edges:
        if source in row and target in row and row[source] < row[target]:
            downs[source].append(target)
            ups[target].append(source)
    place = {n: i for members in rows for i, n in enumerate(members)}

    def reorder(members: list[str], neighbours: dict[str, list[str]]) -> list[str]:
        def key(item: tuple[int, str]) -> tuple[float, int]:
            i, n = item
            near = [place[m] for m in neighbours[n]]
            return (sum(near) / len(near) if near else float(i), i)

        ordered = [n for _, n in sorted(enumerate(members), key=key)]
        for i, n in enumerate(ordered):
            place[n] = i
        return ordered

    for _ in range(sweeps):
        for r in range(1, count):
            rows[r] = reorder(rows[r], ups)
        for r in range(count - 2, -1, -1):
            rows[r] = reorder(rows[r], downs)
    return rows


def _positions(rows: list[list[str]], band: int) -> tuple[dict[str, list[float]], float, float]:
    """Positions with ``band`` rows per column; returns them and the layout's width, height."""
    width, height = NODE_SIZE
    step_x, step_y = width + _GAP_X, height + _GAP_Y
    positions: dict[str, list[float]] = {}
    left, total_w, total_h = 0.0, 0.0, 0.0
    for start in range(0, len(rows), band):
        chunk = rows[start : start + band]
        cells = max(len(r) for r in chunk)
        band_w = cells * step_x - _GAP_X
        for i, members in enumerate(chunk):
            offset = (cells - len(members)) * step_x / 2  # centre each row in its column
            for j, node_id in enumerate(members):
                positions[node_id] = [left + offset + j * step_x, i * step_y]
        total_h = max(total_h, len(chunk) * step_y - _GAP_Y)
        total_w = left + band_w
        left += band_w + _BAND_GAP
    return positions, total_w, total_h


def fit_zoom(width: float, height: float, viewport: tuple[float, float], margin=60.0) -> float:
    """The zoom at which a ``width`` x ``height`` layout (plus ``margin`` around) fills
    ``viewport`` (the view's fit_to_view margin)."""
    vw, vh = viewport
    return min(vw / (width + 2 * margin), vh / (height + 2 * margin))


def arrange(
    node_ids: Sequence[str],
    edges: Iterable[tuple[str, str]],
    viewport: tuple[float, float] = (900.0, 640.0),
    origin: tuple[float, float] = (0.0, 0.0),
) -> dict[str, list[float]]:
    """Top-left corners for a layered top-to-bottom layout, wrapped into as many columns
    as make it fit ``viewport`` (width, height in pixels) at the largest zoom."""
    ids = list(dict.fromkeys(node_ids))
    if not ids:
        return {}
    edge_list = [(s, t) for s, t in edges]
    rows = order_rows(layers(ids, edge_list), edge_list)
    options = []  # (zoom, positions), fewest columns first
    bands = dict.fromkeys(-(-len(rows) // columns) for columns in range(1, len(rows) + 1))
    for band in bands:  # columns of equal height: a wrapped chain is not left with a stub
        positions, w, h = _positions(rows, band)
        options.append((min(1.0, fit_zoom(w, h, viewport)), positions))  # fit stops at 100 %
    # Each wrap makes the graph harder to follow: wrap only as far as it takes to read well.
    enough = min(max(z for z, _ in options), COMFORTABLE_ZOOM)
    best = next(option for option in options if option[0] >= enough - 1e-9)
    ox, oy = origin
    return {n: [round(x + ox), round(y + oy)] for n, (x, y) in best[1].items()}


def is_degenerate(positions: Sequence[Sequence[float]]) -> bool:
    """Whether positions say nothing about the layout: all on one horizontal or vertical
    line (how generated and imported files come), for three nodes or more."""
    if len(positions) < 3:
        return False
    xs = {round(p[0]) for p in positions}
    ys = {round(p[1]) for p in positions}
    return len(xs) == 1 or len(ys) == 1
