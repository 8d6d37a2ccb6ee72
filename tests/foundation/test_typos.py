"""Homophone typo correction (assistant/typos.py) on a synthetic vocabulary and corpus."""
from __future__ import annotations

from assistant.typos import TypoFixer, readings

CORPUS = "虛構許可證之有效期間為五年。虛構專責人員應常駐。虛構檢測申報每半年一次。事業應保存紀錄。"
TERMS = ["許可證", "專責人員", "檢測", "展延", "事業"]


def fixer(terms=TERMS, corpus=CORPUS) -> TypoFixer:
    return TypoFixer.build(terms, known=lambda w: w in corpus)


def test_readings_ignore_tones_and_cover_traditional_characters():
    assert readings("證") == readings("正") == {"zheng"}
    assert readings("測") == readings("側")
    assert readings("延") != readings("廷")


def test_a_one_character_homophone_typo_becomes_the_term():
    text, fixes = fixer().fix("排放許可正快到期了")
    assert text == "排放許可證快到期了"
    assert fixes == [("許可正", "許可證")]


def test_several_typos_in_one_question_are_all_fixed():
    text, fixes = fixer().fix("專責人元離職了,檢側要誰做")
    assert text == "專責人員離職了,檢測要誰做"
    assert sorted(fixes) == [("專責人元", "專責人員"), ("檢側", "檢測")]


def test_a_typo_that_is_not_a_homophone_is_left_to_the_synonym_table():
    text, fixes = fixer().fix("許可證要展廷")
    assert text == "許可證要展廷" and fixes == []


def test_a_window_the_corpus_contains_is_never_corrected():
    # 事業 and 試業 share readings only in part; 紀錄 is in the corpus: an exact term stays.
    f = fixer(terms=["記錄"], corpus="事業應保存紀錄")
    assert readings("紀") == readings("記")
    assert f.fix("保存紀錄三年") == ("保存紀錄三年", [])        # in the corpus: a real word
    assert f.fix("保存計錄三年")[0] == "保存記錄三年"           # 計 sounds like 紀/記: not a word here


def test_an_ambiguous_correction_is_not_made():
    # 許可正 could be 許可證 or 許可政 (both one homophone away): neither is chosen.
    f = fixer(terms=["許可證", "許可政"], corpus="")
    assert f.fix("許可正") == ("許可正", [])


def test_text_outside_chinese_runs_is_untouched():
    text, fixes = fixer().fix("COD 30 mg/L，pH 7")
    assert text == "COD 30 mg/L，pH 7" and fixes == []
