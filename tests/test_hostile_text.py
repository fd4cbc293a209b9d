"""User text shown as text: class names, folder paths and card summaries with Markdown are
not rendered; error details stay on the server; counts and percentages read right.
"""

from __future__ import annotations

import pytest
from conftest import copy_shipped

from har.config import SHIPPED_MODELS_DIR
from har.models.registry import find_model

pytestmark = pytest.mark.usefixtures("isolated_dirs")


# --- user text is shown as text -------------------------------------------------------
PIXEL = "![px](http://127.0.0.1:9999/pixel.png)"


def test_a_class_name_with_markdown_renders_as_text(tmp_path):
    from markdown_it import MarkdownIt
    from streamlit.testing.v1 import AppTest

    from har.config import REPO_ROOT

    classes = [PIXEL, "<img src=http://127.0.0.1:9999/x.png>", "*em*", "TaiChi"]
    from app_common import forget_models

    copy_shipped("lrcn-paper4", tmp_path / "models", "markup", class_names=classes)
    forget_models()  # the card list is cached per process, as in the server
    try:
        at = AppTest.from_file(REPO_ROOT / "streamlit_app.py", default_timeout=240).run()
    finally:
        forget_models()
    assert not at.exception
    shown = [m.value for m in at.markdown if "markup" in m.value or "pixel" in m.value]
    html = MarkdownIt("commonmark").render("\n\n".join(shown))
    assert "<img" not in html and "<em>em" not in html
    assert "pixel.png" in html  # the name is there, as text


def test_card_summaries_escape_markdown_for_the_app_and_not_for_the_cli():
    from markdown_it import MarkdownIt

    from har.models.card import describe

    card = find_model(SHIPPED_MODELS_DIR / "lrcn-paper4.keras")[1]
    card.class_names = [PIXEL, "B"]
    assert PIXEL in describe(card)
    html = MarkdownIt("commonmark").render(describe(card, bold=True))
    assert "<img" not in html and PIXEL.replace("&", "&amp;") in html and "<strong>" in html


# --- tracebacks stay on the server ------------------------------------------------------
def test_error_details_are_not_shown_to_browsers():
    import tomllib

    from har.config import REPO_ROOT

    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"


def test_counts_and_small_percentages_read_right():
    from har.utils.text import percent, plural

    assert plural(1, "frame") == "1 frame" and plural(3, "frame") == "3 frames"
    assert percent(1 / 1000) == "0.1%" and percent(1 / 4) == "25%" and percent(0) == "0%"
    assert percent(1 / 100_000) == "0.001%"


def test_a_typed_folder_with_markdown_is_shown_as_text_in_the_sidebars_error(tmp_path):
    from markdown_it import MarkdownIt
    from streamlit.testing.v1 import AppTest

    from har.config import REPO_ROOT

    at = AppTest.from_file(REPO_ROOT / "streamlit_app.py", default_timeout=240).run()
    at.sidebar.text_input[0].input(PIXEL).run()
    assert not at.exception
    errors = [e.value for e in at.sidebar.error]
    assert errors, "the folder is refused with a sentence"
    html = MarkdownIt("commonmark").render("\n\n".join(errors))
    assert "<img" not in html and "pixel.png" in html
