"""Plotly figures for the app: class probabilities, training curves, confusion matrices.

Pure functions of data (no Streamlit), so they are tested like the rest of the package.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go


def class_order(predictions: Sequence) -> list[str]:
    """One class order for several models' answers: the first model's, then any others'."""
    return list(dict.fromkeys(c for p in predictions for c in p.class_names))


LABEL_SIZE = 14  # px: bar labels and legend, readable projected at 1280 wide
BAR_PX = 24  # px per bar: a 14 px label fits inside its bar's row with room to spare
BAR_GAP = 0.25  # of a class's row, between classes


def grouped_probabilities(predictions: Sequence, palette: Sequence[str] | None = None) -> go.Figure:
    """Every model's class probabilities in one chart, classes in one order so rows line up.

    Readable at 1280 px: labels sit just past each bar end, horizontal, at LABEL_SIZE (never
    shrunk into a short bar or rotated), the legend sits above the plot (not on the axis
    title), and each bar has BAR_PX of height.
    """
    classes = class_order(predictions)
    palette = palette or ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2"]
    fig = go.Figure()
    for i, prediction in enumerate(predictions):
        probs = dict(zip(prediction.class_names, map(float, prediction.probabilities), strict=True))
        values = [probs.get(c) for c in classes]  # None: a class this model does not know
        fig.add_trace(
            go.Bar(
                x=values,
                y=classes,
                orientation="h",
                name=prediction.model_name,
                marker_color=palette[i % len(palette)],
                text=["" if v is None else f"{v:.0%}" for v in values],
                textposition="outside",
                textangle=0,
                textfont=dict(size=LABEL_SIZE),
                cliponaxis=False,
                hovertemplate=f"{prediction.model_name}<br>%{{y}}: %{{x:.1%}}<extra></extra>",
            )
        )
    bars = len(classes) * max(len(predictions), 1)
    fig.update_layout(
        barmode="group",
        bargap=BAR_GAP,
        bargroupgap=0.05,
        uniformtext=dict(minsize=LABEL_SIZE, mode="show"),
        font=dict(size=LABEL_SIZE),
        # room past 100 % for the label of a sure answer
        xaxis=dict(
            range=[0, 1.14],
            tickvals=[0, 0.25, 0.5, 0.75, 1],
            tickformat=".0%",
            title="probability",
        ),
        yaxis=dict(autorange="reversed"),  # the first class on top, as listed
        height=int(MARGIN_PX + BAR_PX * bars / (1 - BAR_GAP)),
        margin=dict(l=10, r=10, t=40, b=10),
        # above the plot, left: never over the x-axis title, whatever the width
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0),
    )
    return fig


MARGIN_PX = 120  # the legend row above, the axis and its title below


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
    if not epochs:  # drawn before the first epoch ends: axes from epoch 1, and say why empty
        fig.update_xaxes(range=[0.5, 2.5])
        fig.add_annotation(text="the first point comes when epoch 1 ends", showarrow=False)
    if metric == "accuracy":
        fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    elif not epochs:
        fig.update_yaxes(range=[0, 1.5])
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
            texttemplate="%{text}",  # the count in each cell: color is not the only carrier
            textfont=dict(size=LABEL_SIZE),
            hovertemplate="true %{y}, predicted %{x}: %{z} clips<extra></extra>",
            showscale=False,
            xgap=1,
            ygap=1,
        )
    )
    fig.update_layout(
        title=title,
        font=dict(size=13),
        # slanted predicted-class names: long names ("WalkingWithDog") side by side do not
        # run into each other in a half-width column
        xaxis=dict(title="predicted class", tickangle=-40, automargin=True, side="bottom"),
        yaxis=dict(title="true class", autorange="reversed", automargin=True),
        height=180 + 44 * len(class_names),
        margin=dict(l=10, r=10, t=40 if title else 10, b=10),
    )
    return fig


def reliability_diagram(rows: Sequence[dict], title: str = "") -> go.Figure:
    """Accuracy against mean confidence per confidence bin (har.evaluation.calibration's
    rows); the diagonal is a perfectly calibrated model; bar labels are clip counts."""
    used = [r for r in rows if r["count"]]
    centres = [(r["low"] + r["high"]) / 2 for r in used]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=centres,
            y=[r["accuracy"] for r in used],
            width=[r["high"] - r["low"] for r in used],
            text=[f"{r['count']}" for r in used],
            textposition="outside",
            name="accuracy in the bin",
            marker_color="#4c78a8",
            hovertemplate="confidence %{x:.2f}: accuracy %{y:.2f}, %{text} clips<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[r["confidence"] for r in used],
            y=[r["confidence"] for r in used],
            mode="markers",
            name="mean confidence",
            marker=dict(color="#e45756", size=8),
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[0, 1], y=[0, 1], mode="lines", name="calibrated", line=dict(dash="dot", color="grey")
        )
    )
    fig.update_layout(
        title=title,
        xaxis=dict(title="confidence", range=[0, 1]),
        yaxis=dict(title="accuracy", range=[0, 1.1]),
        height=320,
        margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(orientation="h", y=-0.25),
    )
    return fig


# Explain page (har.explain): timeline, agreement, occlusion, what-if.


TOP_MARK = "○ the window's answer (top class)"


def timeline_heatmap(timeline, model: str) -> go.Figure:
    """One model's class probabilities per window over time (x: window centre, seconds)."""
    probs = timeline.probabilities[model]
    classes = timeline.class_names[model]
    hover = [
        [
            f"{c}: {p:.0%}<br>{s:.1f}-{e:.1f} s"
            for p, s, e in zip(probs[:, j], timeline.starts, timeline.ends, strict=True)
        ]
        for j, c in enumerate(classes)
    ]
    fig = go.Figure(
        go.Heatmap(
            z=probs.T,
            x=timeline.centres,
            y=classes,
            zmin=0,
            zmax=1,
            colorscale="Viridis",
            text=hover,
            hoverinfo="text",
            colorbar=dict(title="p", tickformat=".0%", len=0.9),
        )
    )
    tops = timeline.top_classes(model)
    fig.add_trace(
        go.Scatter(
            x=timeline.centres,
            y=tops,
            mode="markers",
            marker=dict(symbol="circle-open", color="white", size=9, line=dict(width=2)),
            name=TOP_MARK,
            text=[
                f"top: {t} {c:.0%}" for t, c in zip(tops, timeline.confidences(model), strict=True)
            ],
            hoverinfo="text",
            showlegend=True,
        )
    )
    fig.update_layout(
        title=model,
        # the circles' meaning in words, above the plot (white shows on the grey legend box)
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1, bgcolor="#777"),
        legend_font=dict(color="white"),
        xaxis=dict(title="seconds (window centre)", range=[0, max(timeline.duration, 1e-3)]),
        yaxis=dict(autorange="reversed"),
        height=130 + 30 * len(classes),
        margin=dict(l=10, r=10, t=60, b=10),
    )
    return fig


def agreement_strip(timeline) -> go.Figure:
    """Green where every model names the same top class, red where they disagree."""
    agree = timeline.agreement()
    models = list(timeline.probabilities)
    text = [
        "<br>".join(f"{m}: {timeline.top_classes(m)[k]}" for m in models) for k in range(len(agree))
    ]
    fig = go.Figure(
        go.Heatmap(
            z=[[1 if a else 0 for a in agree]],
            x=timeline.centres,
            y=["agree"],
            zmin=0,
            zmax=1,
            colorscale=[[0, "#d62728"], [1, "#2ca02c"]],
            showscale=False,
            hovertext=[text],
            hoverinfo="text",
            # a mark in each cell too: the meaning is not carried by color alone
            text=[["✓" if a else "✗" for a in agree]],
            texttemplate="%{text}",
            textfont=dict(size=16, color="white"),
        )
    )
    fig.update_layout(
        xaxis=dict(title="seconds", range=[0, max(timeline.duration, 1e-3)]),
        height=120,
        margin=dict(l=10, r=10, t=10, b=10),
    )
    return fig


def occlusion_bars(occlusions: Sequence, labels: Sequence[str] | None = None) -> go.Figure:
    """Per frame, how much each model's predicted-class probability drops when it is occluded."""
    fig = go.Figure()
    for occ in occlusions:
        x = list(labels) if labels is not None else list(range(len(occ.drops)))
        fig.add_trace(
            go.Bar(
                x=x,
                y=[float(d) for d in occ.drops],
                name=f"{occ.model} ({occ.class_name} {occ.probability:.0%})",
            )
        )
    fig.update_layout(
        barmode="group",
        xaxis=dict(title="frame", type="category"),
        yaxis=dict(title="probability drop", tickformat=".0%"),
        height=260,
        margin=dict(l=10, r=10, t=10, b=10),
        legend=dict(orientation="h", y=-0.3),
    )
    return fig


def whatif_bars(whatifs: Sequence) -> go.Figure:
    """Per variant, each model's probability of the class it gave the original clip."""
    fig = go.Figure()
    for w in whatifs:
        rows = w.rows()
        fig.add_trace(
            go.Bar(
                x=[r["variant"] for r in rows],
                y=[r["p_original_class"] for r in rows],
                name=f"{w.model}: p({w.original_class})",
                text=[f"{r['p_original_class']:.0%}" for r in rows],
                textposition="auto",
            )
        )
    fig.update_layout(
        barmode="group",
        yaxis=dict(range=[0, 1], tickformat=".0%", title="probability of the original's class"),
        height=300,
        margin=dict(l=10, r=10, t=10, b=10),
        legend=dict(orientation="h", y=-0.2),
    )
    return fig
