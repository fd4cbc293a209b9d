"""Plotly figures for the app: class probabilities, training curves, confusion matrices.

Pure functions of data (no Streamlit), so they are tested like the rest of the package.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go


def probability_bars(
    class_names: Sequence[str], probabilities: Sequence[float], title: str = ""
) -> go.Figure:
    """Horizontal bars, most likely class on top, the top one highlighted."""
    pairs = sorted(zip(class_names, map(float, probabilities), strict=True), key=lambda p: p[1])
    names, probs = [p[0] for p in pairs], [p[1] for p in pairs]
    colours = ["#d62728" if i == len(probs) - 1 else "#1f77b4" for i in range(len(probs))]
    fig = go.Figure(
        go.Bar(
            x=probs,
            y=names,
            orientation="h",
            marker_color=colours,
            text=[f"{p:.0%}" for p in probs],
            textposition="auto",
        )
    )
    fig.update_layout(
        title=title,
        xaxis=dict(range=[0, 1], tickformat=".0%"),
        height=60 + 28 * len(names),
        margin=dict(l=10, r=10, t=40, b=10),
    )
    return fig


def training_curves(history: Sequence[dict], metric: str) -> go.Figure:
    """Train and validation `metric` ("loss" or "accuracy") per epoch."""
    epochs = [h["epoch"] for h in history]
    fig = go.Figure()
    for key, label in ((metric, "train"), (f"val_{metric}", "validation")):
        fig.add_trace(
            go.Scatter(x=epochs, y=[h.get(key) for h in history], mode="lines+markers", name=label)
        )
    fig.update_layout(
        title=metric, xaxis_title="epoch", height=300, margin=dict(l=10, r=10, t=40, b=10)
    )
    # whole epochs only: at most about ten ticks, never "1.5"
    fig.update_xaxes(tickformat="d", tick0=1, dtick=max(1, -(-len(epochs) // 10)))
    if metric == "accuracy":
        fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    return fig


def confusion_heatmap(
    confusion: Sequence[Sequence[int]], class_names: Sequence[str], title: str = ""
) -> go.Figure:
    """Rows: true class; columns: predicted class; counts written in the cells."""
    fig = go.Figure(
        go.Heatmap(
            z=confusion,
            x=list(class_names),
            y=list(class_names),
            colorscale="Blues",
            text=confusion,
            texttemplate="%{text}",
            showscale=False,
        )
    )
    fig.update_layout(
        title=title,
        xaxis_title="predicted",
        yaxis_title="true",
        yaxis_autorange="reversed",
        height=120 + 40 * len(class_names),
        margin=dict(l=10, r=10, t=40, b=10),
    )
    return fig
