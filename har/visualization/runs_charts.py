"""Plotly figures that compare training runs: curves of several runs overlaid.

Pure functions of data (no Streamlit). One color per run; train solid, validation dashed.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]


def overlaid_curves(series: Sequence[tuple[str, Sequence[dict]]], metric: str) -> go.Figure:
    """`series`: (label, per-epoch logs) per run and model; `metric`: "loss" or "accuracy".

    Each label gets one color: its train curve solid, its validation curve dashed.
    """
    fig = go.Figure()
    for i, (label, history) in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        epochs = [h.get("epoch") for h in history]
        for key, part, dash in (
            (metric, "train", "solid"),
            (f"val_{metric}", "validation", "dash"),
        ):
            fig.add_trace(
                go.Scatter(
                    x=epochs,
                    y=[h.get(key) for h in history],
                    mode="lines+markers",
                    name=f"{label} ({part})",
                    legendgroup=label,
                    line=dict(color=color, dash=dash),
                    marker=dict(size=5),
                )
            )
    fig.update_layout(
        title=f"{metric}: train solid, validation dashed",
        xaxis_title="epoch",
        height=360,
        margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(orientation="h", y=-0.25),
    )
    fig.update_xaxes(tickformat="d")
    if metric == "accuracy":
        fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    return fig
