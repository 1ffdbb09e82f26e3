"""Draw the workflow's rule graph for docs/architecture.md (no Graphviz binary needed).

    python docs/scripts/rulegraph_figure.py docs/figures/rulegraph.png

Runs `snakemake --rulegraph` on the demo config (the phantom, every stage) and draws it with
networkx and matplotlib, one column per step of the longest path, data flowing left to right.
The `all` target and every edge implied by a longer path (the transitive reduction) are left
out, so each arrow is a direct hand-over that no other route explains.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import networkx as nx

REPO = Path(__file__).resolve().parents[2]
STAGE_COLOURS = {  # the rule files of workflow/rules/
    "data": "#8ecae6",
    "simulation": "#ffb703",
    "training": "#fb8500",
    "evaluation": "#90be6d",
    "report": "#cdb4db",
}


def rule_stages() -> dict[str, str]:
    stages = {}
    for stage in STAGE_COLOURS:
        text = (REPO / "workflow/rules" / f"{stage}.smk").read_text()
        stages |= dict.fromkeys(re.findall(r"^rule (\w+):", text, flags=re.MULTILINE), stage)
    return stages


def rule_graph() -> nx.DiGraph:
    dot = subprocess.run(
        [
            Path(sys.executable).with_name("snakemake"),
            "--rulegraph",
            "--cores",
            "1",
            "--configfile",
            "config/demo.yaml",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names = dict(re.findall(r'^\s*(\d+)\[label = "(\w+)"', dot, flags=re.MULTILINE))
    graph = nx.DiGraph()
    graph.add_nodes_from(n for n in names.values() if n != "all")
    for a, b in re.findall(r"^\s*(\d+) -> (\d+)", dot, flags=re.MULTILINE):
        if names[b] != "all":
            graph.add_edge(names[a], names[b])
    return graph


def draw(graph: nx.DiGraph, path: Path) -> None:
    graph = nx.transitive_reduction(graph)
    for column, rules in enumerate(nx.topological_generations(graph)):
        for rule in rules:
            graph.nodes[rule]["column"] = column
    position = nx.multipartite_layout(graph, subset_key="column", scale=1.0)
    stages = rule_stages()
    fig, ax = plt.subplots(figsize=(15, 6.5))
    nx.draw_networkx_edges(
        graph,
        position,
        ax=ax,
        edge_color="#999999",
        arrowsize=10,
        node_size=2600,
        connectionstyle="arc3,rad=0.05",
    )
    for rule, (x, y) in position.items():
        ax.text(
            x,
            y,
            rule,
            ha="center",
            va="center",
            fontsize=8,
            bbox={
                "boxstyle": "round",
                "facecolor": STAGE_COLOURS[stages[rule]],
                "edgecolor": "#555555",
            },
        )
    for stage, colour in STAGE_COLOURS.items():
        ax.scatter([], [], marker="s", s=80, color=colour, label=f"workflow/rules/{stage}.smk")
    ax.legend(loc="lower left", fontsize=8, frameon=False)
    ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    draw(rule_graph(), Path(sys.argv[1]))
