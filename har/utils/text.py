"""User text (class names, model names, file names) inside markdown, shown as the text itself.

A class name like `![x](http://host/pixel.png)` would otherwise make every visitor's browser
fetch that address. No heavy imports: the app's pages and har.models.card use it.
"""

from __future__ import annotations

import re

# The characters that start inline markup: links and images, emphasis, code, HTML and
# entities, tables, and Streamlit's additions ($math$, :color[text], :emoji:). Backslash
# escapes are CommonMark's; '-', '.', ',' and the like stay readable.
_INLINE = re.compile(r"([\\`*_\[\]()<>!$:~|#&{}^])")
# Any ASCII punctuation opening the text could start a block (a list, a heading, a quote).
_OPENING = re.compile(r"^([!-/:-@\[-`{-~])")


def escape_markdown(text: object) -> str:
    """`text` as markdown that renders as exactly that text, on one line."""
    escaped = _INLINE.sub(r"\\\1", " ".join(str(text).split()))
    if _OPENING.match(escaped) and not escaped.startswith("\\"):
        escaped = "\\" + escaped
    return escaped


def plural(count: int, word: str, many: str | None = None) -> str:
    """'1 frame', '2 frames': a count with its noun in the right number."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def percent(fraction: float) -> str:
    """A share as a percentage with enough digits to tell it from 0: '25%', '0.1%', '0.01%'."""
    value = float(fraction) * 100
    if value == 0 or abs(value) >= 1 or value != value:
        return f"{value:.0f}%"
    digits = 1
    while round(abs(value), digits) == 0 and digits < 6:
        digits += 1
    return f"{value:.{digits}f}%"


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st."""
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"
