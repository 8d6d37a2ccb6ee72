"""The short answer's wording on made-up article sentences (no index needed)."""
from __future__ import annotations

from assistant.drafting import _with_lead, sentences

ARTICLE = sentences(
    "虛構事業有下列情形之一者，應於三十日內申請測試變更：\n"
    "一、測試槽體增加。\n"
    "二、測試放流口遷移。\n"
    "各虛構機關辦理下列事項，應徵收測試規費。但因公務需要辦理者，不適用之：\n"
    "一、測試審查。\n"
)


def test_an_item_keeps_the_sentence_that_introduces_its_list():
    assert _with_lead("二、測試放流口遷移。", ARTICLE) == "虛構事業有下列情形之一者，應於三十日內申請測試變更：二、測試放流口遷移。"


def test_a_proviso_lead_in_keeps_the_sentence_it_qualifies():
    # The second list's 一、 follows the proviso, which alone would read as if the fee were waived.
    got = _with_lead("一、測試審查。", ARTICLE)
    assert got == "各虛構機關辦理下列事項，應徵收測試規費。但因公務需要辦理者，不適用之：一、測試審查。"


def test_an_item_the_passage_closed_with_a_full_stop_still_finds_its_lead_in():
    article = sentences("虛構事業有下列情形之一者，應申請測試變更：\n一、測試槽體增加\n二、測試放流口遷移")
    assert _with_lead("二、測試放流口遷移。", article) == "虛構事業有下列情形之一者，應申請測試變更：二、測試放流口遷移。"


def test_an_item_without_a_lead_in_loses_only_its_number():
    assert _with_lead("二、測試放流口遷移。", ["二、測試放流口遷移。"]) == "測試放流口遷移。"
    assert _with_lead("排放許可證有效期間為五年。", ARTICLE) == "排放許可證有效期間為五年。"
