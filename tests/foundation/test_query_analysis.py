"""Question analysis without an index: normalising, article references, scope."""
from __future__ import annotations

import pytest

from assistant.refs import cn_to_int, find_refs
from assistant.scope import check_scope
from assistant.textproc import bigrams, expansions, fold, normalize, words

LAWS = {"虛構水質測試法": "Z9990001", "水污染防治法": "O0040001"}


def test_normalize_folds_variants_fullwidth_and_numbers():
    n = normalize("許可証ＡＢＣ３０天😅")
    assert "許可證" in n and "ABC" in n and "三十日" in n and "😅" not in n
    assert fold("許可証") == "許可證"


@pytest.mark.parametrize("text,value", [("十四", 14), ("二十一", 21), ("一百零五", 105), ("三", 3), ("45", 45)])
def test_chinese_numerals(text, value):
    assert cn_to_int(text) == value


def test_article_references_with_aliases_and_sub_numbers():
    refs = find_refs(fold("水污法第14條跟第十八條之一"), LAWS)
    assert [(r.pcode, r.flno) for r in refs] == [("O0040001", "14"), ("O0040001", "18-1")]
    assert find_refs("虛構水質測試法第 2-1 條", LAWS)[0].flno == "2-1"
    assert find_refs("許可證要附哪些東西", LAWS) == []


def test_expansions_map_colloquial_words_to_legal_terms():
    exp = expansions(normalize("定檢忘記報，罰款多少"))
    assert "定期檢測申報" in exp and "罰鍰" in exp


def test_words_drop_stop_words_and_bigrams_cover_cjk_runs():
    assert "請問" not in words(normalize("請問排放許可證要多久"))
    assert bigrams("排放許可") == ["排放", "放許", "許可"]


@pytest.mark.parametrize("question", [
    "大家早安☀️",
    "我們的展延案審到哪了？承辦人是誰",
    "空污操作許可證怎麼申請",
    "事業廢棄物清運要找誰",
    "工廠噪音被檢舉怎麼辦",
    "環保局幾點下班",
    "請問局長是誰",
    "我要檢舉隔壁工廠半夜排黑煙",
    "勞工安全衛生教育訓練要上幾小時",
    "小吃店被衛生局抽驗，會被罰嗎",
    "星期六可以臨櫃送件嗎？",
    "謝謝你們的解答，祝中秋節快樂",
])
def test_out_of_scope_questions_are_routed(question):
    assert not check_scope(question).in_scope


def test_another_domains_word_the_corpus_never_uses_routes_a_water_question():
    question = "廢水處理場的操作員天天加班，加班費怎麼算？"
    assert check_scope(question).in_scope                      # a water term, and no corpus to ask
    routed = check_scope(question, known=lambda w: False)     # the laws never say 加班費
    assert not routed.in_scope and "加班費" in routed.reason
    assert check_scope(question, known=lambda w: True).in_scope   # were it in the laws, they would answer


def test_a_question_with_no_word_of_the_domain_is_routed():
    check = check_scope("今天天氣如何")
    assert not check.in_scope and "相關用語" in check.reason


@pytest.mark.parametrize("question", [
    "廢水處理設施故障要通報嗎",
    "環保局發補正通知前會先打電話說明嗎",      # 電話 as part of the procedure, not a contact request
    "污泥算廢棄物嗎？廢水處理產生的污泥要怎麼記錄",  # a water term keeps a waste word in scope
    "我想把處理後的水回收再利用，要申請嗎",          # 回收再利用 of water, not of waste
    "許可證快到期要做什麼？",
    "試車期間可以排放嗎",
    "畜牧業的沼液沼渣可以做農地肥分使用嗎",
    "被檢舉偷排廢水，環保局會怎麼處理",              # being reported is a question about the rules
    "我們假日也有人上班生產，廢水照常排放要另外申報嗎",  # the plant's hours, not the bureau's
    "專責人員假日也要上班嗎",
])
def test_water_questions_stay_in_scope(question):
    assert check_scope(question).in_scope
