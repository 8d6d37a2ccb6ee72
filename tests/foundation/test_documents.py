"""The bureau's own documents in drafts: an FAQ entry the question restates, a form it asks for.

On a synthetic index (the fictional laws, a fictional FAQ and forms catalog).
"""
from __future__ import annotations

import pytest

from assistant.config import Settings
from assistant.indexing import run_ingest
from assistant.pipeline import Assistant

from .conftest import FAQ_CSV, FIXTURES, law_data, write_laws, write_manifest


@pytest.fixture(scope="module")
def assistant(tmp_path_factory) -> Assistant:
    tmp = tmp_path_factory.mktemp("docs")
    manifest = write_manifest(tmp / "sources.toml", [
        (FAQ_CSV, "faq", "虛構常見問答"),
        (FIXTURES / "fictional_forms.csv", "form", "虛構書表目錄"),
    ])
    settings = Settings(home=tmp / "home")
    run_ingest(settings, source=str(write_laws(tmp / "laws.json", law_data())), manifest_path=str(manifest))
    return Assistant.load(settings)


def test_a_restated_faq_question_is_answered_from_the_entry_with_the_laws_it_names(assistant):
    draft = assistant.ask("請問虛構排放測試許可證多久要展延？")
    assert draft.abstained is False
    first = draft.citations[0]
    assert first.source_kind == "faq" and first.label == "虛構常見問答〈虛構排放測試許可證多久要展延？〉"
    assert draft.text.startswith("簡答：虛構排放測試許可證有效期間為五年，應於屆滿前三個月至六個月內申請展延。[1]")
    laws = draft.citations[1:]
    assert laws and all(c.source_kind == "law" and c.law_name == "虛構水質測試法" for c in laws)
    assert "Z9990001:4" in {c.unit_id for c in laws}
    assert f"[{laws[0].n}] 虛構水質測試法" in draft.text and "法規連結：" in draft.text


def test_a_question_that_only_shares_words_with_an_faq_is_answered_from_the_laws(assistant):
    draft = assistant.ask("虛構主管機關可以派員進入事業場所檢查嗎？")
    assert draft.citations and all(c.source_kind == "law" for c in draft.citations)


def test_a_question_asking_for_a_form_gets_the_catalog_entry_after_the_laws(assistant):
    draft = assistant.ask("虛構排放測試許可要展延，要填哪一張申請書？")
    assert draft.abstained is False
    *rest, form = draft.citations
    assert form.source_kind == "form" and form.article == "ZT-02 虛構排放測試許可證展延申請書"
    assert rest and rest[0].source_kind == "law"
    assert f"相關書表：\n[{form.n}] 虛構書表目錄〈ZT-02 虛構排放測試許可證展延申請書〉" in draft.text


def test_no_form_is_offered_when_the_question_does_not_ask_for_one(assistant):
    draft = assistant.ask("虛構排放測試許可證展延的期限是什麼時候？")
    assert draft.citations and not any(c.source_kind == "form" for c in draft.citations)
    assert "相關書表" not in draft.text


def test_document_match_is_the_overlap_of_heading_and_question(assistant):
    r = assistant.retriever
    exact = r.match_documents(r.search("虛構測試申請文件不齊怎麼辦？").normalized, floor=0.0)
    assert exact[0].unit.extra == "虛構測試申請文件不齊怎麼辦？" and exact[0].match == 1.0
    assert r.match_documents(r.search("放流水的酸鹼值").normalized) == []


# --- the bureau's real catalog and FAQ (corpus/) on the real index -------------------------------

@pytest.mark.parametrize("question", ["補正文件可以用LINE傳嗎？", "补正文件可以用LINE传吗"])
def test_a_service_question_is_answered_from_the_bureau_faq_alone(real_assistant, question):
    draft = real_assistant.ask(question)
    assert draft.abstained is False
    assert [c.source_kind for c in draft.citations] == ["faq"]      # no loosely related article beside it
    assert draft.citations[0].article == "可以在 LINE 上傳補正文件嗎？"
    assert draft.text.startswith("簡答：可以。請在對話中直接傳送照片或 PDF 檔") and "法規連結" not in draft.text


def test_a_question_without_a_domain_word_is_answered_when_the_faq_holds_it(real_assistant):
    # Scope would route "誰寫的" to staff (no permit vocabulary); the bureau's FAQ answers it.
    draft = real_assistant.ask("LINE上的回覆是誰寫的？")
    assert not draft.abstained and draft.citations[0].source_kind == "faq"


@pytest.mark.parametrize("question, code", [
    ("許可證展延要填哪一張申請書？", "WP-03"),
    ("負責人換了，變更登記的申請書在哪裡下載？", "WP-04"),
    ("專責人員離職了，要送什麼表？", "WP-05"),
])
def test_a_form_request_gets_the_catalog_entry_after_the_articles(real_assistant, question, code):
    draft = real_assistant.ask(question)
    *articles, form = draft.citations
    assert form.source_kind == "form" and form.article.startswith(code)
    assert articles and all(c.source_kind == "law" for c in articles)
    assert "相關書表：" in draft.text


def test_ordinary_permit_questions_get_no_form_and_no_faq(real_assistant):
    for question in ("許可證的有效期間是多久？", "排放許可證到期前多久要申請展延？"):
        assert {c.source_kind for c in real_assistant.ask(question).citations} == {"law"}
