"""Tables for the app, with headers a class can read and one number format (percent, one
decimal). Pure functions of data (no Streamlit)."""

from __future__ import annotations

from collections.abc import Sequence

# What each what-if column means, for the page's legend under the table.
WHATIF_COLUMNS = {
    "Model": "the model",
    "Clip changed": "how the clip was changed (original: as it is)",
    "Answer": "the class the model names for the changed clip",
    "Confidence": "its probability for that answer",
    "Original answer's probability": "its probability for the class it named for the original "
    "clip (the bars above)",
    "Change": "how much of the whole probability moved between classes, from 0 % (the same "
    "probabilities as the original) to 100 % (nothing in common): half the sum, over every "
    "class, of how much each class's probability went up or down. Because it counts every "
    "class, it can be larger than the drop in the original answer's probability.",
}


def percent(x: float) -> str:
    """The one number format of the app's tables: 74.9 %."""
    return f"{100 * float(x):.1f} %"


def whatif_table(whatifs: Sequence) -> list[dict]:
    """One row per model and variant, headers in words, every number in `percent`."""
    table = []
    for w in whatifs:
        for r in w.rows():
            table.append(
                {
                    "Model": r["model"],
                    "Clip changed": r["variant"],
                    "Answer": r["top_class"],
                    "Confidence": percent(r["confidence"]),
                    "Original answer's probability": percent(r["p_original_class"]),
                    "Change": percent(r["change"]),
                }
            )
    return table
