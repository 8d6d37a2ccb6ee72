"""Chinese text handling for lexical search: normalising, tokenising, expanding.

Questions arrive colloquial (許可証、展廷、定檢、30天) while the articles are
formal (許可證、展延、定期檢測申報、三十日). We fold character variants and
full-width forms, segment with jieba plus a domain dictionary, add character
bigrams (robust to segmentation mistakes and typos), and expand abbreviations
and everyday words with the legal terms they stand for.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache
from importlib import resources

import jieba

jieba.setLogLevel(logging.WARNING)

# Character variants seen in questions, folded to the form the corpus uses.
_VARIANTS = str.maketrans({"証": "證", "台": "臺", "汙": "污", "菸": "煙", "裏": "裡", "綫": "線", "着": "著"})
_STOP = set("的 了 嗎 呢 吧 啊 喔 哦 呀 是 在 有 和 與 及 或 我 我們 你 您 他 她 它 這 那 這樣 那些 這個 那個 "
            "請問 請 問 想 要 會 能 可以 還 就 也 都 又 很 太 一下 一點 一個 什麼 怎麼 怎樣 如何 為什麼 哪 哪些 "
            "多少 幾 嗎？ ? ？ ， 。 、 ！ ! ： : ； ; （ ） ( ) 「 」 『 』 … ~ ～ - — / \\ 之 者 其 於 為 以 而 "
            "應 得 並 依 經 由 但 如 對 向 所 因 後 前 時 中 上 下 內 外 等 已 被 把 讓 給 跟 說 看 做 去 來 到 "
            "現在 之後 之前 目前 最近 然後 還是 還要 需要 是不是 有沒有 可不可以 會不會 大概 到底 只是 已經 "
            "公司 工廠 廠 我司 貴局 環保局 主管機關".split())
_PUNCT = re.compile(r"[\s\u3000-\u303f\uff00-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65!-/:-@\[-`{-~]+")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_DIGITS = "零一二三四五六七八九"


def _resource(name: str) -> str:
    return resources.files("assistant.resources").joinpath(name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _init_jieba() -> None:
    for line in _resource("domain_words.txt").splitlines():
        parts = line.split()
        if parts:
            jieba.add_word(parts[0], int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 20)
    for alias, _ in law_aliases():
        jieba.add_word(alias, 30)


@lru_cache(maxsize=1)
def synonyms() -> list[tuple[str, list[str]]]:
    """(surface form, expansion terms), longest surface first."""
    out = []
    for line in _resource("synonyms.tsv").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        src, _, dst = line.partition("\t")
        out.append((normalize(src.strip()), dst.split()))
    return sorted(out, key=lambda x: -len(x[0]))


@lru_cache(maxsize=1)
def domain_words() -> list[str]:
    """The domain dictionary's words (水措, 專責人員, 納管 …), as jieba is given them."""
    return [line.split()[0] for line in _resource("domain_words.txt").splitlines() if line.split()]


@lru_cache(maxsize=1)
def correction_terms() -> tuple[str, ...]:
    """The terms a homophone typo may be corrected to: the domain dictionary and the synonyms' legal terms."""
    terms = [normalize(w) for w in domain_words()] + [normalize(t) for _, dst in synonyms() for t in dst]
    return tuple(dict.fromkeys(terms))


@lru_cache(maxsize=1)
def law_aliases() -> list[tuple[str, str]]:
    out = []
    for line in _resource("law_aliases.tsv").splitlines():
        if line.strip() and not line.startswith("#"):
            alias, _, pcode = line.partition("\t")
            out.append((alias.strip(), pcode.strip()))
    return sorted(out, key=lambda x: -len(x[0]))


def _cn_number(n: int) -> str:
    """Arabic to Chinese numerals as the articles write them (30 → 三十, 200 → 二百)."""
    if n < 10:
        return _DIGITS[n]
    if n >= 100000:
        return str(n)
    units = [(10000, "萬"), (1000, "千"), (100, "百"), (10, "十")]
    out, zero = "", False
    for value, name in units:
        d, n = divmod(n, value)
        if d:
            if zero and out:
                out += "零"
            out += ("" if (value == 10 and d == 1 and not out) else _DIGITS[d]) + name
            zero = False
        elif out:
            zero = True
    if n:
        out += ("零" if zero else "") + _DIGITS[n]
    return out


def fold(text: str) -> str:
    """NFKC (full-width → half-width), variant characters folded, emoji dropped."""
    t = unicodedata.normalize("NFKC", text).translate(_VARIANTS)
    return re.sub(r"[\U0001F000-\U0001FAFF\u2600-\u27BF]", " ", t)


def normalize(text: str) -> str:
    """``fold`` plus Arabic numbers also written as Chinese numerals, 天 as 日."""
    t = fold(text)
    t = re.sub(r"(?<![0-9.])(\d{1,5})(?![0-9.])", lambda m: f"{m.group(1)}{_cn_number(int(m.group(1)))}", t)
    return t.replace("天", "日").replace("禮拜", "星期")


def words(text: str) -> list[str]:
    """jieba tokens without stop words and punctuation (text already normalized)."""
    _init_jieba()
    out = []
    for w in jieba.lcut(text):
        w = w.strip()
        if not w or w in _STOP or _PUNCT.fullmatch(w):
            continue
        out.append(w.lower())
    return out


def bigrams(text: str) -> list[str]:
    """Overlapping CJK character bigrams within each run of CJK characters."""
    out = []
    for run in re.findall(r"[\u4e00-\u9fff]+", text):
        if len(run) == 1:
            out.append(run)
        out += [run[i:i + 2] for i in range(len(run) - 1)]
    return out


def expansions(text: str) -> list[str]:
    """Legal terms for the abbreviations and everyday words found in ``text``."""
    found: list[str] = []
    rest = text
    for src, dst in synonyms():
        if src and src in rest:
            found += dst
            rest = rest.replace(src, " ")
    return found
