"""Simplified-character questions read in the corpus's traditional spelling (assistant/simplified.py).

The corpus and vocabulary here are synthetic; the conversions are OpenCC's own.
"""
from __future__ import annotations

from assistant.simplified import ScriptReader

CORPUS = ("虛構許可證之有效期間為五年。經主管機關核准者，應依水措計畫辦理。"
          "放流水標準另定之。事業應於期限內申請展延。")
VOCABULARY = ("老闆", "負責人")


def reader() -> ScriptReader:
    return ScriptReader.build(CORPUS, VOCABULARY)


def test_a_simplified_question_is_read_in_traditional_characters():
    assert reader().to_traditional("许可证的有效期间是几年？") == "許可證的有效期間是幾年？"


def test_a_traditional_question_is_left_as_typed():
    # s2tw alone would turn 核准 into 核準 and 污 into 汙; every character here is the corpus's.
    r = reader()
    assert r.foreign("經核准之許可證") == []
    assert r.to_traditional("經核准之許可證") == "經核准之許可證"
    # 的 is not in this corpus, so the question is read; 核准 still stays as the corpus writes it.
    assert r.foreign("經核准的許可證") == ["的"]
    assert r.to_traditional("經核准的許可證") == "經核准的許可證"


def test_a_character_the_corpus_writes_with_its_neighbour_keeps_the_corpus_spelling():
    # 准 has two traditional readings; the corpus writes 核准 but 標準.
    assert reader().to_traditional("核准以后要依标准吗") == "核准以後要依標準嗎"


def test_the_corpus_spelling_wins_over_the_conversion_table():
    # s2tw reads 计划 as 計劃; the corpus writes 計畫, found through its own pairs.
    assert reader().to_traditional("水措计划要写什么") == "水措計畫要寫什麼"


def test_vocabulary_words_count_as_evidence():
    assert reader().to_traditional("老板可以兼任吗") == "老闆可以兼任嗎"
    # A corpus that itself writes 老板 keeps it.
    assert ScriptReader.build(CORPUS + "老板", ()).to_traditional("老板可以兼任吗") == "老板可以兼任嗎"


def test_with_no_evidence_the_conversion_table_reading_stands():
    assert reader().to_traditional("这里要申请展延吗") == "這裡要申請展延嗎"


def test_a_mixed_question_converts_only_the_simplified_part():
    assert reader().to_traditional("許可證过期了，要申請展延吗") == "許可證過期了，要申請展延嗎"


def test_text_outside_chinese_is_untouched():
    assert reader().to_traditional("COD 30 mg/L，pH 7，许可证") == "COD 30 mg/L，pH 7，許可證"
