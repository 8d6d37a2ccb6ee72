"""The open-data loader and article units on a tiny fictional law file."""
from __future__ import annotations

import gzip
import io
import json
import zipfile

import pytest

from ingest.moj import article_flno, article_url, load_corpus
from ingest.units import DEFAULT_MAX_CHARS, law_units, split_paragraphs

from .conftest import LAWS_JSON, law_data


def _variants(tmp_path):
    raw = LAWS_JSON.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    (tmp_path / "raw.json").write_bytes(raw)
    (tmp_path / "bom.json").write_bytes(b"\xef\xbb\xbf" + raw)
    (tmp_path / "laws.json.gz").write_bytes(gzip.compress(b"\xef\xbb\xbf" + raw))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ChLaw.json", b"\xef\xbb\xbf" + raw)   # like the official download
    (tmp_path / "ChLaw.json.zip").write_bytes(buf.getvalue())
    return ["raw.json", "bom.json", "laws.json.gz", "ChLaw.json.zip"]


def test_loads_raw_bom_gzip_and_zip_identically(tmp_path):
    loaded = [load_corpus(tmp_path / name) for name in _variants(tmp_path)]
    first = loaded[0]
    assert first.update_date == "20990101"
    assert [law.pcode for law in first.laws] == ["Z9990001", "Z9990002", "Z8880001"]
    assert [law.name for law in first.laws] == ["虛構水質測試法", "虛構放流水測試辦法", "虛構空氣測試法"]
    for other in loaded[1:]:
        assert other.update_date == first.update_date
        assert [(law.pcode, law.name, [(a.number, a.content, a.chapter) for a in law.articles])
                for law in other.laws] == \
               [(law.pcode, law.name, [(a.number, a.content, a.chapter) for a in law.articles])
                for law in first.laws]
    # The law name must not pick up the BOM in any form.
    assert all(not law.name.startswith("\ufeff") for c in loaded for law in c.laws)


def test_law_fields_and_abolished_flag(tmp_path):
    corpus = load_corpus(LAWS_JSON)
    laws = corpus.by_pcode()
    water, abolished, air = laws["Z9990001"], laws["Z9990002"], laws["Z8880001"]
    assert water.level == "法律" and abolished.level == "命令"
    assert water.modified == "20230115"
    assert not water.abolished and not air.abolished
    assert abolished.abolished is True
    assert water.attachments and water.attachments[0]["FileName"].startswith("附表一")


def test_chapter_rows_are_not_articles_and_attach_to_following_articles():
    law = load_corpus(LAWS_JSON).by_pcode()["Z9990001"]
    # 10 rows, 3 of them headings (ArticleType "C").
    assert [a.number for a in law.articles] == ["第 1 條", "第 2 條", "第 2-1 條", "第 3 條", "第 4 條",
                                                 "第 5 條", "第 6 條"]
    by = {a.number: a for a in law.articles}
    # A section (節) nests in its chapter (章); a new chapter clears the section.
    assert by["第 1 條"].chapter == "第 一 章 總則 第 一 節 通則"
    assert by["第 2-1 條"].chapter == "第 一 章 總則 第 一 節 通則"
    assert by["第 3 條"].chapter == "第 二 章 許可"
    assert by["第 6 條"].chapter == "第 二 章 許可"
    # Line ends are normalised to \n.
    assert "\r" not in by["第 2-1 條"].content and "\n" in by["第 2-1 條"].content
    # The abolished order has no headings at all.
    assert all(a.chapter == "" for a in load_corpus(LAWS_JSON).by_pcode()["Z9990002"].articles)


@pytest.mark.parametrize("printed, flno", [
    ("第 2-1 條", "2-1"), ("第 14 條", "14"), ("第14-1條", "14-1"), ("第 14 - 1 條", "14-1"), ("第 100 條", "100"),
])
def test_article_flno(printed, flno):
    assert article_flno(printed) == flno


def test_article_links_and_unit_urls():
    assert article_url("Z9990001", "2-1") == "https://law.moj.gov.tw/LawClass/LawSingle.aspx?pcode=Z9990001&flno=2-1"
    law = load_corpus(LAWS_JSON).by_pcode()["Z9990001"]
    units = {u.id: u for u in law_units(law, corpus_version="20990101")}
    u = units["Z9990001:2-1"]
    assert u.url == "https://law.moj.gov.tw/LawClass/LawSingle.aspx?pcode=Z9990001&flno=2-1"
    assert (u.article, u.flno, u.part, u.article_key) == ("第 2-1 條", "2-1", 0, "Z9990001:2-1")
    assert u.law_name == "虛構水質測試法" and u.pcode == "Z9990001" and u.source_kind == "law"
    assert u.corpus_version == "20990101" and u.modified == "20230115"
    assert u.chapter == "第 一 章 總則 第 一 節 通則"
    assert u.embed_text().startswith("虛構水質測試法第 2-1 條（第 一 章 總則 第 一 節 通則）\n")
    assert u.text == "虛構事業排放廢水前，應先取得虛構排放測試許可證。\n前項許可證之有效期間為五年。"


def test_long_article_split_at_item_lines_within_budget():
    law = load_corpus(LAWS_JSON).by_pcode()["Z9990001"]
    art3 = next(a for a in law.articles if a.number == "第 3 條")
    assert len(art3.content) > DEFAULT_MAX_CHARS
    parts = [u for u in law_units(law) if u.article_key == "Z9990001:3"]
    assert len(parts) >= 2
    assert [u.part for u in parts] == list(range(1, len(parts) + 1))
    assert [u.id for u in parts] == [f"Z9990001:3#{k}" for k in range(1, len(parts) + 1)]
    for u in parts:
        assert len(u.text) <= DEFAULT_MAX_CHARS
        assert u.law_name == "虛構水質測試法" and u.article == "第 3 條" and u.flno == "3"
        assert u.url.endswith("pcode=Z9990001&flno=3")
        assert u.embed_text().startswith("虛構水質測試法第 3 條")
    # Split only at line (項/款) boundaries: every line of the article is in exactly one part, whole.
    lines = art3.content.split("\n")
    for ln in lines:
        assert sum(ln in u.text.split("\n") for u in parts) == 1, ln
    # A part that starts with a 款 item carries the 項's lead-in (for the embedder, not in its text)
    # so the items keep their subject.
    for u in parts[1:]:
        first = u.text.split("\n")[0]
        if first[:2] in {f"{c}、" for c in "一二三四五六七八九"}:
            assert u.lead and u.lead in art3.content, f"part {u.id} starts with an item without its lead-in"
            assert u.lead in u.embed_text() and u.lead not in u.text
    assert parts[1].lead.startswith(lines[0][:20])


def test_single_line_longer_than_budget_is_cut_at_sentence_ends():
    law = load_corpus(LAWS_JSON).by_pcode()["Z9990001"]
    art5 = next(a for a in law.articles if a.number == "第 5 條")
    assert "\n" not in art5.content and len(art5.content) > DEFAULT_MAX_CHARS
    parts = [u for u in law_units(law) if u.article_key == "Z9990001:5"]
    assert len(parts) >= 2
    assert all(len(u.text) <= DEFAULT_MAX_CHARS for u in parts)
    assert all(u.text.endswith("。") for u in parts)          # cut at sentence ends, not mid-sentence
    assert "".join(u.text for u in parts) == art5.content     # nothing lost, nothing repeated


def test_ids_unique_and_short_articles_whole():
    corpus = load_corpus(LAWS_JSON)
    units = [u for law in corpus.laws for u in law_units(law)]
    ids = [u.id for u in units]
    assert len(ids) == len(set(ids))
    whole = [u for u in units if u.part == 0]
    assert {u.id for u in whole} >= {"Z9990001:1", "Z9990001:2", "Z9990001:2-1", "Z9990001:4", "Z9990001:6",
                                     "Z9990002:1", "Z9990002:2", "Z8880001:1"}
    assert all(u.abolished for u in units if u.pcode == "Z9990002")
    assert not any(u.abolished for u in units if u.pcode != "Z9990002")


def test_repeated_article_numbers_keep_unique_ids(tmp_path):
    data = law_data()
    arts = data["Laws"][0]["LawArticles"]
    arts.append({"ArticleType": "A", "ArticleNo": "第 6 條", "ArticleContent": "（重複條號之虛構條文）"})
    p = tmp_path / "dup.json"
    p.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    units = law_units(load_corpus(p).by_pcode()["Z9990001"])
    ids = [u.id for u in units]
    assert len(ids) == len(set(ids))
    assert "Z9990001:6" in ids and "Z9990001:6~1" in ids
    dup = next(u for u in units if u.id == "Z9990001:6~1")
    assert dup.url.endswith("flno=6") and dup.article_key == "Z9990001:6"


def test_split_with_lead_in_never_exceeds_budget():
    """Items close to the budget: the carried lead-in must not push a part past it."""
    lead = "虛構事業應符合下列規定：" + "並應".join("甲乙丙丁" for _ in range(20))
    items = [f"{c}、" + "虛構項目說明" * 70 for c in "一二三"]     # 422 characters each
    content = "\n".join([lead] + items)
    pairs = split_paragraphs(content, DEFAULT_MAX_CHARS)
    parts = [text for _, text in pairs]
    assert len(parts) >= 3
    assert [len(p) for p in parts if len(p) > DEFAULT_MAX_CHARS] == []
    for item in items:
        assert any(item in p for p in parts)
    # Parts that start with an item carry the 項 lead-in as context, never inside the text.
    assert all(lead == "" or lead in content for lead, _ in pairs)
    assert any(lead for lead, _ in pairs[1:])
