"""Questions typed in simplified characters, read in the traditional ones the corpus uses.

Some of the people who ask (a consultant's assistant, a foreign manager, text
pasted from a simplified source) write 许可证快到期了 rather than
許可證快到期了. Every lexical lane matches characters, so such a question
shares almost no word or bigram with the articles, and the dense lane loses
too: on the development set turned simplified with OpenCC, hybrid Recall@5
fell from 0.900 to 0.656 and a sixth of the answerable questions abstained;
read back as below, it is 0.900 again (``python -m evals.script_robustness``).

OpenCC's phrase-aware ``s2tw`` conversion proposes a reading, but it is not
the identity on text that is already traditional (it turns 核准 into 核準 and
污 into 汙), it picks one of several traditional characters where the corpus
may write another (计划 → 計劃, the corpus writes 計畫), and questions mix
both scripts. So the corpus decides:

- a question whose characters the corpus all writes is left as typed;
- otherwise every character gets candidates: as typed, s2tw's, and each
  character the corpus writes whose simplified form is the same (found on the
  corpus's own character pairs, so 畫 is a candidate for 划 through 計畫);
- the candidate the corpus (and the domain vocabulary) most often writes
  with its neighbours wins (计划 → 計畫, 老板 → 老闆 from the vocabulary, and
  核准 stays 核准); with no such evidence s2tw's reading stands (这里 → 這裡),
  and the variants it prefers (汙 for 污) are folded by ``textproc`` as
  the corpus's own are.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import opencc

_CJK = re.compile(r"[\u4e00-\u9fff]")


@lru_cache(maxsize=1)
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("s2tw")


@lru_cache(maxsize=1)
def _simplifier() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def _t2s(text: str) -> str:
    return _simplifier().convert(text)


@dataclass(frozen=True)
class ScriptReader:
    """Reads simplified characters as traditional, in the spelling the corpus uses."""

    known: frozenset[str]                 # the CJK characters the corpus (and vocabulary) writes
    pairs: Counter[str]                   # how often it writes each adjacent CJK pair
    spellings: dict[str, frozenset[str]]  # simplified character -> the traditional ones the corpus writes

    @classmethod
    def build(cls, corpus_text: str, vocabulary: tuple[str, ...] = ()) -> "ScriptReader":
        text = corpus_text + "\n" + "\n".join(vocabulary)
        pairs = Counter(text[i:i + 2] for i in range(len(text) - 1)
                        if _CJK.match(text[i]) and _CJK.match(text[i + 1]))
        spellings: dict[str, set[str]] = {}
        # One call for all pairs: OpenCC converts phrase by phrase, and a newline ends a phrase.
        for pair, simple in zip(pairs, _t2s("\n".join(pairs)).split("\n")):
            if len(simple) == 2:
                for trad, simp in zip(pair, simple):
                    spellings.setdefault(simp, set()).add(trad)
        for ch in set(_CJK.findall(text)):
            spellings.setdefault(_t2s(ch), set()).add(ch)
        return cls(frozenset(_CJK.findall(text)), pairs,
                   {k: frozenset(v) for k, v in spellings.items()})

    def foreign(self, text: str) -> list[str]:
        """The question's CJK characters the corpus never writes (the sign of a simplified question)."""
        return [c for c in _CJK.findall(text) if c not in self.known]

    def _candidates(self, typed: str, proposed: str) -> list[str]:
        """The readings of one character, s2tw's first (it wins ties among what the corpus writes).

        A character s2tw leaves as typed (了, 只, 裡) has one reading: the corpus's other
        spellings of its simplified form (瞭 in 為瞭解, 隻) are for characters s2tw changes.
        """
        if typed == proposed:
            return [typed]
        out = [proposed, typed, *sorted(self.spellings.get(_t2s(typed), ()))]
        return list(dict.fromkeys(out))

    def _support(self, left: str, c: str, right: list[str]) -> int:
        """How often the corpus writes ``c`` after the character read before it and before any reading of the next."""
        return self.pairs[left + c] + max((self.pairs[c + r] for r in right), default=0)

    def to_traditional(self, text: str) -> str:
        if not self.foreign(text):
            return text                      # the common case: nothing to read differently
        converted = _converter().convert(text)
        if len(converted) != len(text):      # s2tw maps character for character; guard anyway
            converted = "".join(_converter().convert(c) for c in text)
        cands = [self._candidates(t, c) if _CJK.match(t) else [t] for t, c in zip(text, converted)]
        out: list[str] = []
        for i, options in enumerate(cands):
            if len(options) > 1:
                left = out[i - 1] if i else ""
                right = cands[i + 1] if i + 1 < len(cands) else []
                # sorted is stable: on a tie s2tw's reading, listed first, stands
                options = sorted(options, key=lambda c: self._support(left, c, right), reverse=True)
            out.append(options[0])
        return "".join(out)
