"""Mark the cited passage inside an article's text for the review page.

The reviewer must see *which* sentences a draft leans on. The passage is
normally a verbatim slice of the article; when it isn't (whitespace or
punctuation differences) each of its sentences is looked for separately.
Output is escaped HTML with ``<mark>`` around the matches.
"""
from __future__ import annotations

import re

from markupsafe import Markup, escape

_SENTENCE = re.compile(r"[^。；;！!？?\n]+[。；;！!？?]?")


def _spans(text: str, passage: str) -> list[tuple[int, int]]:
    passage = passage.strip()
    if not passage:
        return []
    start = text.find(passage)
    if start >= 0:
        return [(start, start + len(passage))]
    spans = []
    for m in _SENTENCE.finditer(passage):
        piece = m.group().strip()
        if len(piece) < 4:
            continue
        at = text.find(piece)
        if at >= 0:
            spans.append((at, at + len(piece)))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def highlight(text: str, passage: str) -> Markup:
    """``text`` as HTML with the passage wrapped in ``<mark>``."""
    out: list[str] = []
    pos = 0
    for a, b in _spans(text, passage):
        out.append(str(escape(text[pos:a])))
        out.append(f'<mark class="passage">{escape(text[a:b])}</mark>')
        pos = b
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def found(text: str, passage: str) -> bool:
    return bool(_spans(text, passage))
