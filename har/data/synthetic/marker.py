"""What marks a dataset as synthetic, and the one wording for models trained on it.

Every place that says "synthetic" (model cards, the CLI, the app's notices) takes its
words from here, so the honesty notice cannot drift between copies.
"""

from __future__ import annotations

import json
from pathlib import Path

from har.errors import DatasetError

MARKER = "SYNTHETIC.json"
# A model card's note.
CARD_NOTE = (
    "Trained on HAR Studio's synthetic clips (procedurally drawn figures), not on real "
    "video: it will not recognise real footage. Train on a real UCF50 folder with the "
    "same commands for a real model."
)
# A tag beside a model's name, in the CLI and the app.
TAG = "trained on synthetic clips"
# The app's notice on every page that predicts; {names} are the models concerned.
WARNING = (
    "{names} learned from HAR Studio's drawn figures, not real video, so on real footage "
    "their predictions mean little. Train on a real UCF50 folder (Retrain page, or "
    "`har train`) for real models."
)


def is_synthetic(root: str | Path) -> bool:
    return (Path(root) / MARKER).exists()


def read_settings(root: str | Path) -> dict | None:
    """The generator settings a synthetic folder was made with, or None for real data."""
    marker = Path(root) / MARKER
    if not marker.exists():
        return None
    try:
        settings = json.loads(marker.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(
            f"{marker} is not a readable synthetic-data marker ({exc}); delete the folder "
            "and generate it again with `har synth`."
        ) from exc
    if not isinstance(settings, dict):
        raise DatasetError(
            f"{marker} is not a synthetic-data marker (it holds no settings); delete the "
            "folder and generate it again with `har synth`."
        )
    return settings
