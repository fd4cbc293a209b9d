"""User text (class names, model names, file names) inside markdown, shown as the text itself.

A class name like `![x](http://host/pixel.png)` would otherwise make every visitor's browser
fetch that address. No heavy imports: the app's pages and har.models.card use it.
"""

from __future__ import annotations

import re

# Every ASCII punctuation character may be backslash-escaped in CommonMark; escaping all of
# them leaves no markup (links, images, emphasis, HTML, code) and none of Streamlit's
# additions ($math$, :colour[text], :emoji:) in user text.
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def escape_markdown(text: object) -> str:
    """`text` as markdown that renders as exactly that text, on one line."""
    one_line = " ".join(str(text).split())
    return _PUNCTUATION.sub(r"\\\1", one_line)
