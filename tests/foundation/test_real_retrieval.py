"""Retrieval and drafts on the real 2024 index (built once per session by tests/conftest.py)."""
from __future__ import annotations

import json
import re

import pytest

from assistant.retrieval import GAP_WEIGHT
from ingest.moj import article_flno, article_url, load_corpus

from .conftest import MOJ_2024

pytestmark = pytest.mark.slow

ABOLISHED_PCODE = "O0040012"          # 事業水污染防治措施管理辦法 (廢)
LINK = re.compile(r"^https://law\.moj\.gov\.tw/LawClass/LawSingle\.aspx\?pcode=([A-Z0-9]+)&flno=([0-9]+(?:-[0-9]+)?)$")


@pytest.fixture(scope="module")
def raw_articles():
    """(pcode, '第 N 條') -> the article's text, read straight from the 2024 file."""
    corpus = load_corpus(MOJ_2024)
    return {(law.pcode, a.number): a.content for law in corpus.laws for a in law.articles}, corpus.by_pcode()


def test_abbreviated_law_name_with_article_number(real_assistant):
    hits = real_assistant.search("水污法第14條", k=5).hits
    assert hits[0].key == "O0040001:14"
    assert hits[0].explicit
    assert hits[0].unit.law_name == "水污染防治法" and hits[0].unit.article == "第 14 條"


def test_full_law_name_with_chinese_numeral_article(real_assistant):
    hits = real_assistant.search("水污染防治措施計畫及許可申請審查管理辦法第二十一條", k=5).hits
    assert hits[0].key == "O0040055:21"
    assert hits[0].explicit
    assert hits[0].unit.article == "第 21 條"


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_search_modes_respect_k_and_explicit_refs(real_assistant, mode):
    res = real_assistant.search("水污法第14條的排放許可證要怎麼申請", k=4, mode=mode)
    assert 1 <= len(res.hits) <= 4
    assert res.hits[0].key == "O0040001:14"
    assert len({h.key for h in res.hits}) == len(res.hits)          # articles, not chunks
    assert all(h.unit.source_kind == "law" for h in res.hits)


def test_abolished_law_excluded_from_ordinary_questions(real_assistant):
    # Worded after the abolished 事業水污染防治措施管理辦法 without naming it.
    question = "事業的水污染防治措施要怎麼管理？廢水收集處理設施有什麼規定？"
    res = real_assistant.search(question, k=10)
    assert res.hits
    assert [h.key for h in res.hits if any(u.abolished for u in h.units)] == []
    draft = real_assistant.ask(question)
    assert not any(c.abolished for c in draft.citations)
    # The exclusion is what keeps it out: allowed in, the abolished order does rank.
    with_old = real_assistant.search(question, k=50, include_abolished=True)
    assert any(h.unit.abolished for h in with_old.hits)


def test_naming_an_abolished_law_returns_it_marked(real_assistant):
    res = real_assistant.search("事業水污染防治措施管理辦法第 5 條", k=5)
    top = res.hits[0]
    assert top.key == f"{ABOLISHED_PCODE}:5" and top.explicit
    assert top.unit.abolished is True
    assert top.unit.law_name == "事業水污染防治措施管理辦法"
    draft = real_assistant.ask("事業水污染防治措施管理辦法第 5 條")
    assert not draft.abstained
    first = draft.citations[0]
    assert first.pcode == ABOLISHED_PCODE and first.abolished is True
    assert "（已廢止）" in draft.text


@pytest.mark.parametrize("question", [
    "排放許可證的有效期間是多久？到期前多久要申請展延？",
    "事業要設置廢水處理專責人員嗎？",
    "水污法第14條",
    "水污染防治措施及檢測申報管理辦法第 49-6 條",
])
def test_draft_citations_resolve_to_articles_and_quote_them(real_assistant, raw_articles, question):
    articles, laws = raw_articles
    draft = real_assistant.ask(question)
    assert not draft.abstained, draft.reason
    cites = draft.citations
    assert cites
    assert [c.n for c in cites] == list(range(1, len(cites) + 1))
    markers = {int(m) for m in re.findall(r"\[(\d+)\]", draft.text)}
    assert markers == set(range(1, len(cites) + 1))
    for c in cites:
        assert c.source_kind == "law"
        assert laws[c.pcode].name == c.law_name
        m = LINK.match(c.url)
        assert m, c.url
        assert m.group(1) == c.pcode and m.group(2) == article_flno(c.article)
        assert c.url == article_url(c.pcode, article_flno(c.article))
        assert f"[{c.n}] {c.law_name}{c.article}" in draft.text and c.url in draft.text
        original = articles[(c.pcode, c.article)]
        assert c.passage
        # Every sentence the draft quotes is a sentence of the cited article (the drafter may add a
        # closing 。 to a line that has none).
        for sent in re.split(r"(?<=[。；：])", c.passage):
            if sent:
                assert sent in original or sent.rstrip("。") in original, (c.unit_id, sent)
    # Answer first: one quoted sentence with its marker, then each citation's passage in full.
    first_line = draft.text.splitlines()[0]
    assert first_line.startswith("簡答：") and re.search(r"\[\d+\]$", first_line)
    for c in cites:
        assert f"[{c.n}] {c.label}{'（已廢止）' if c.abolished else ''}：「{c.passage}」" in draft.text


@pytest.mark.parametrize("question, unit_id", [
    ("水污法第14條", "O0040001:14"),                                               # a whole article
    ("放流水標準第2條", "O0040004:2"),                                              # split, no lead-in carried
    ("水污染防治措施及檢測申報管理辦法第 49-6 條", "O0040054:49-6"),                  # split, 款 part carries the lead-in
])
def test_citation_text_is_the_cited_article(real_assistant, raw_articles, question, unit_id):
    """A split article is cited whole: its parts rejoined must give back the article as published."""
    articles, _ = raw_articles
    draft = real_assistant.ask(question)
    c = draft.citations[0]
    assert c.unit_id.split("#")[0] == unit_id
    assert c.text == articles[(c.pcode, c.article)]


def test_draft_to_dict_is_json_serialisable(real_assistant):
    draft = real_assistant.ask("排放許可證的有效期間是多久？")
    d = draft.to_dict()
    back = json.loads(json.dumps(d, ensure_ascii=False))
    assert back["question"] == "排放許可證的有效期間是多久？"
    assert back["abstained"] is False
    assert len(back["citations"]) == len(draft.citations) >= 1
    assert {"n", "unit_id", "law_name", "article", "url", "text", "passage", "abolished"} <= set(back["citations"][0])
    assert back["timings"]["ask_ms"] > 0


@pytest.mark.parametrize("greeting", ["你好", "早安！今天天氣真好～", "謝謝你，辛苦了"])
def test_out_of_scope_greeting_abstains(real_assistant, greeting):
    draft = real_assistant.ask(greeting)
    assert draft.abstained is True
    assert draft.citations == []
    assert draft.reason
    assert "[1]" not in draft.text


def test_a_water_plants_labour_question_goes_to_staff_but_its_sludge_question_does_not(real_assistant):
    labour = real_assistant.ask("廢水處理場的操作員天天加班，加班費怎麼算？")
    assert labour.abstained and "加班費" in labour.reason and labour.citations == []
    sludge = real_assistant.ask("污泥算廢棄物嗎？廢水處理產生的污泥要怎麼記錄")   # the water laws do speak of 廢棄物
    assert not sludge.abstained and sludge.citations


@pytest.mark.parametrize("question, penalty", [
    ("沒有排放許可證就先排放廢水，被查到會怎樣？", "O0040001:45"),   # duty: 水污法 §14
    ("沒有設置廢水專責人員會被罰多少？", "O0040001:48"),             # duty: the 專責 order, authorized by §21
])
def test_consequence_questions_reach_the_penalty_that_cites_the_duty(real_assistant, question, penalty):
    """The penalty names the duty by number only; the graph gets it into the first three."""
    hits = real_assistant.search(question, k=5).hits
    keys = [h.key for h in hits]
    assert penalty in keys[:3], keys
    assert next(h for h in hits if h.key == penalty).lanes.get("penalty_of")
    draft = real_assistant.ask(question)
    assert "罰鍰" in draft.text.splitlines()[0]          # the short answer quotes a sanction


def test_a_question_without_consequence_words_follows_no_penalties(real_assistant):
    hits = real_assistant.search("排放許可證的有效期間是多久？", k=10).hits
    assert not any("penalty_of" in h.lanes for h in hits)


def test_rankings_are_the_same_in_every_process(real_home, tmp_path):
    """Set order (hash seeds) and the approximate vector index must not change a ranking."""
    import os
    import subprocess
    import sys

    script = ("from assistant.pipeline import Assistant\n"
              "a = Assistant.load()\n"
              "for q in ['許可證快到期要做什麼？', '定檢申報多久報一次', '廢水專責人員離職要多久內報備']:\n"
              "    print([h.key for h in a.search(q, k=10).hits])\n")
    outs = set()
    for seed in ("1", "2", "3"):
        env = dict(os.environ, PYTHONHASHSEED=seed, WPA_HOME=str(real_home))
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        outs.add(out.stdout)
    assert len(outs) == 1


def test_a_homophone_typo_is_corrected_and_ranks_as_the_clean_question(real_assistant):
    clean = real_assistant.search("排放許可證的有效期間是幾年？", k=5)
    typo = real_assistant.search("排放許可正的有效期間是幾年？", k=5)
    assert typo.corrections == [("排放許可正", "排放許可證")]
    assert "許可證" in typo.normalized and clean.corrections == []
    assert [h.key for h in typo.hits[:3]] == [h.key for h in clean.hits[:3]]
    # 水污染防治法 §15 and 審查管理辦法 §31 both set the permit's five years.
    assert {h.key for h in typo.hits[:2]} == {"O0040001:15", "O0040055:31"}


def test_a_neighbouring_regime_ranks_low_unless_the_question_names_its_subject(real_assistant):
    plain = real_assistant.search("審查費多繳了可以退嗎？", k=10)
    marine = {"O0040026", "O0040033", "O0040037", "O0040048"}
    assert plain.hits[0].unit.pcode not in marine
    assert all(h.lanes.get("off_subject") for h in plain.hits if h.unit.pcode in marine)
    asked = real_assistant.search("海洋棄置許可的審查費多繳了可以退嗎？", k=10)
    assert asked.hits[0].unit.pcode in marine
    assert not any(h.lanes.get("off_subject") for h in asked.hits)


def test_abolished_units_are_found_by_words_without_a_vector(real_assistant):
    r = real_assistant.retriever
    assert r.dense_count == sum(not u.abolished for u in r.units) < len(r.units)
    hit = real_assistant.search("事業水污染防治措施管理辦法第10條", k=3).hits[0]
    assert hit.key == f"{ABOLISHED_PCODE}:10" and hit.unit.abolished
    dense = real_assistant.search("事業水污染防治措施管理辦法 廢水處理設施", k=10, mode="dense", include_abolished=True)
    assert not any(h.unit.abolished for h in dense.hits)


def test_an_order_article_passes_its_score_to_the_act_article_it_answers_to(real_assistant):
    r = real_assistant.retriever
    acts = r.graph.authority["O0040054"]           # 檢測申報管理辦法 rests on several act articles
    assert len(acts) > 2 and "O0040001:22" in acts
    assert r._nearest_authority("O0040054:83", acts) == "O0040001:22"   # reporting frequency → §22 reporting


@pytest.mark.parametrize("question, act_article, within", [
    ("環保局人員要進去軍事機關查廢水，要怎麼進行？", "O0040001:26", 3),   # 施行細則 §13: 依本法第二十六條…
    ("稀釋廢水要在哪個處理單元做？", "O0040001:18-1", 1),                 # 檢測申報管理辦法 §37: 依本法第十八條之一…
])
def test_the_act_article_an_order_article_carries_out_is_lifted(real_assistant, question, act_article, within):
    hits = real_assistant.search(question, k=10).hits
    keys = [h.key for h in hits]
    assert act_article in keys[:within], keys
    assert next(h for h in hits if h.key == act_article).lanes.get("cited_by")


def test_a_clipped_word_matches_the_law_spelling_it_out(real_assistant):
    r = real_assistant.retriever
    text = r.article_text["O0040054:83"]            # 檢測申報管理辦法 §83: …每日最大廢（污）水產生量之百分之六十…
    assert "產量" not in text and "產生量" in text
    assert r._coverage("產量")("O0040054:83") == pytest.approx(GAP_WEIGHT)
    assert r._coverage("產生量")("O0040054:83") == pytest.approx(1.0)
    assert r._coverage("產量")("O0040001:1") == 0.0         # 水污染防治法 §1 has neither


def test_the_law_name_and_chapter_are_a_field_of_their_own(real_assistant):
    # The question names its subject (放流水標準) the way a law's title does; the article text seldom repeats it.
    hits = real_assistant.search("放流水標準的限值單位是什麼？", k=5).hits
    assert hits[0].unit.pcode == "O0040004"            # 放流水標準
    assert hits[0].lanes["fields"] > 0.5
    assert all(h.lanes["fields"] == 0 for h in hits if h.unit.law_name == "水污染防治法")


@pytest.mark.parametrize("traditional, simplified", [
    ("工廠的排放許可證快到期了，要怎麼申請展延？", "工厂的排放许可证快到期了，要怎么申请展延？"),
    ("專責人員離職了，多久內要補人？", "专责人员离职了，多久内要补人？"),
])
def test_a_simplified_question_is_answered_as_the_traditional_one(real_assistant, traditional, simplified):
    plain, typed = real_assistant.search(traditional, k=5), real_assistant.search(simplified, k=5)
    assert typed.read_as == traditional and plain.read_as == traditional
    assert [h.key for h in typed.hits] == [h.key for h in plain.hits]
    draft = real_assistant.ask(simplified)
    assert draft.abstained is False and draft.read_as == traditional
    assert [c.unit_id for c in draft.citations] == [c.unit_id for c in real_assistant.ask(traditional).citations]
    assert real_assistant.ask(traditional).read_as == ""       # typed in traditional: nothing to show


def test_a_traditional_variant_is_not_reported_as_a_simplified_reading(real_assistant):
    question = "機台保養那天可以改期檢測嗎？"            # the corpus writes 臺; 台 alone is no simplified text
    assert real_assistant.search(question).read_as == "機臺保養那天可以改期檢測嗎？"
    assert real_assistant.ask(question).read_as == ""


def test_an_out_of_scope_question_in_simplified_still_goes_to_staff(real_assistant):
    draft = real_assistant.ask("请问焚化炉的空气污染排放标准是多少？")
    assert draft.abstained is True and draft.citations == []
    assert draft.read_as == "請問焚化爐的空氣污染排放標準是多少？"
