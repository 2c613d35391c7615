"""Drawing computation graphs with Matplotlib alone (no Graphviz needed): chapter 5's lessons
draw a scalar expression, a traced tensor graph and a lazy expression with it.

A graph is given as nodes and edges:

    nodes = {"x": ("x\\n2.0", "leaf"), "y": ("tanh\\n0.96", "op")}   # key -> (text, kind)
    edges = [("x", "y")]                                             # data flows x -> y
    fig = draw_graph(nodes, edges, title="y = tanh(x)")

Nodes are placed in columns by their longest path from an input (a layered layout, as `dot`
does), so data flows left to right; within a column a few sweeps order the nodes by the mean
row of their neighbours, which removes most edge crossings of small graphs.
"""
from collections import defaultdict

from .style import figure

# kind -> (face colour, edge colour)
KINDS = {
    "leaf": ("#dbe8f6", "#4c72b0"),     # inputs and parameters
    "const": ("#eeeeee", "#888888"),    # numbers that need no gradient
    "op": ("#fdf0e2", "#dd8452"),       # results of operations
    "output": ("#f6dcdc", "#c44e52"),   # what backward starts from
}


def layers(nodes, edges):
    """Columns of node keys: column k holds the nodes whose longest path from an input is k."""
    preds, succs = defaultdict(list), defaultdict(list)
    for a, b in edges:
        preds[b].append(a)
        succs[a].append(b)
    pending = {n: len(preds[n]) for n in nodes}
    rank = {n: 0 for n in nodes}
    ready = [n for n in nodes if pending[n] == 0]
    while ready:                          # Kahn's order: a node is placed after all its inputs
        n = ready.pop()
        for s in succs[n]:
            rank[s] = max(rank[s], rank[n] + 1)
            pending[s] -= 1
            if pending[s] == 0:
                ready.append(s)
    if any(pending.values()):
        raise ValueError("draw_graph: the edges form a cycle; a computation graph cannot")
    for n in nodes:                       # an input sits just before its first use, not far left
        if not preds[n] and succs[n]:
            rank[n] = min(rank[s] for s in succs[n]) - 1
    columns = [[] for _ in range(max(rank.values(), default=-1) + 1)]
    for n in nodes:                       # insertion order is the starting order in a column
        columns[rank[n]].append(n)
    for sweep in range(6):                # barycentre heuristic, alternating direction
        neighbours = preds if sweep % 2 == 0 else succs
        sequence = columns[1:] if sweep % 2 == 0 else columns[-2::-1]
        row = {n: i for column in columns for i, n in enumerate(column)}
        for column in sequence:
            def centre(n, column=column):
                near = [row[m] for m in neighbours[n]]
                return sum(near) / len(near) if near else row[n]
            column.sort(key=centre)
            row.update({n: i for i, n in enumerate(column)})
    return columns


def _text_width(text, fontsize):
    """Inches a monospace label needs: its longest line at about 0.6 em per character."""
    return max(len(line) for line in str(text).split("\n")) * fontsize * 0.6 / 72


def draw_graph(nodes, edges, title, col_width=None, row_height=0.95, fontsize=10, gap=0.4):
    """A Figure of the graph: boxes coloured by kind (see KINDS), arrows along the data flow.

    Each column is as wide as its widest label plus `gap` inches (at least `col_width` when
    given), so a graph with short labels stays narrow and its text stays readable when the
    figure is shown at the width of a page."""
    columns = layers(nodes, edges)
    tallest = max(len(c) for c in columns)
    widths = [max(_text_width(nodes[k][0], fontsize) + 0.2 for k in column) + gap for column in columns]
    widths = [max(w, col_width or 0.0) for w in widths]
    centres = [sum(widths[:i]) + w / 2 for i, w in enumerate(widths)]   # inches from the left
    total = sum(widths)
    fig = figure(figsize=(max(4.0, total + 0.3), max(2.5, row_height * tallest + 0.9)))
    ax = fig.subplots()
    ax.set_axis_off()
    boxes = {}
    for x, column in zip(centres, columns):
        for i, key in enumerate(column):
            y = ((len(column) - 1) / 2 - i) * row_height   # each column centred on the middle row
            text, kind = nodes[key]
            face, edge = KINDS[kind]
            boxes[key] = ax.text(x, y, text, ha="center", va="center", fontsize=fontsize,
                                 family="monospace", zorder=3,
                                 bbox=dict(boxstyle="round,pad=0.35", fc=face, ec=edge, lw=1.2))
    column_of = {key: c for c, column in enumerate(columns) for key in column}
    for a, b in edges:
        (xa, ya), (xb, yb) = boxes[a].get_position(), boxes[b].get_position()
        # an edge that skips columns bends a little, so it does not run through the boxes between
        bend = 0.15 if column_of[b] - column_of[a] > 1 else 0.0
        ax.annotate("", xy=(xb, yb), xytext=(xa, ya), zorder=4,  # after the boxes: they clip it
                    arrowprops=dict(arrowstyle="-|>", color="0.35", lw=0.9, shrinkA=1, shrinkB=1,
                                    patchA=boxes[a].get_bbox_patch(), patchB=boxes[b].get_bbox_patch(),
                                    connectionstyle=f"arc3,rad={bend}"))
    ax.set_xlim(0, total)
    half = (tallest / 2 + 0.1) * row_height
    ax.set_ylim(-half, half)
    fig.suptitle(title)
    return fig
