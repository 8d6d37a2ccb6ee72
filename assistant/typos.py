"""Homophone typos in questions: 許可正 → 許可證, 檢側 → 檢測, 專則 → 專責.

Questions in LINE are typed with phonetic input methods (注音, 拼音), so the
commonest typo is a character that sounds like the right one. A window of
the question is corrected to a domain term when it differs from the term in
exactly one character, that character shares a reading with the term's
(tones ignored; the common reading only), and the window itself
never occurs in the corpus, so a real word is never "corrected". The
synonym table still carries typos that are not homophones (展廷 → 展延).

pypinyin gives the readings (it covers traditional characters); the
matching is ours because no library matches against a domain vocabulary.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Iterable

from pypinyin import Style, pinyin

_RUN = re.compile(r"[\u4e00-\u9fff]+")
MIN_LEN, MAX_LEN = 2, 8


@lru_cache(maxsize=50000)
def readings(ch: str) -> frozenset[str]:
    """Toneless common reading of one character (rare readings of 破音字 matched noise: 錢 as jian)."""
    return frozenset(pinyin(ch, style=Style.NORMAL, errors="ignore")[0] or [ch])


@dataclass
class TypoFixer:
    """Corrects one-character homophone typos of the given terms."""

    known: Callable[[str], bool]                  # does this string occur in the corpus?
    _slots: dict[str, list[tuple[int, str]]] = field(default_factory=dict)

    @classmethod
    def build(cls, terms: Iterable[str], known: Callable[[str], bool]) -> "TypoFixer":
        fixer = cls(known=known)
        for t in dict.fromkeys(terms):
            if MIN_LEN <= len(t) <= MAX_LEN and _RUN.fullmatch(t):
                for j in range(len(t)):
                    fixer._slots.setdefault(t[:j] + "?" + t[j + 1:], []).append((j, t))
        return fixer

    def candidates(self, window: str) -> list[str]:
        out = []
        for j in range(len(window)):
            for pos, term in self._slots.get(window[:j] + "?" + window[j + 1:], []):
                if pos == j and term[j] != window[j] and readings(term[j]) & readings(window[j]):
                    out.append(term)
        return out

    def fix(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        """The text with typos corrected, and the (typo, term) pairs applied."""
        fixes: list[tuple[str, str]] = []

        def fix_run(m: re.Match) -> str:
            run = m.group(0)
            for n in range(min(MAX_LEN, len(run)), MIN_LEN - 1, -1):   # longest terms first
                i = 0
                while i + n <= len(run):
                    window = run[i:i + n]
                    found = set(self.candidates(window))
                    # An ambiguous correction is no correction; the corpus check is the costly one, so last.
                    if len(found) == 1 and not self.known(window):
                        found = list(found)
                        run = run[:i] + found[0] + run[i + n:]
                        fixes.append((window, found[0]))
                        i += n
                    else:
                        i += 1
            return run
        return _RUN.sub(fix_run, text), fixes
