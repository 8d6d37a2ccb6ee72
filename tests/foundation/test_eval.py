"""`wpa eval`: the metrics, the question-file reader, and a run on the real index."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from evals.harness import load_questions
from evals.metrics import coverage, mrr_at, ndcg_at, recall_at
from ingest.moj import load_corpus

from .conftest import MOJ_2024, run_wpa

APART = Path(__file__).parents[2] / "evals" / "apart"


def test_ranking_metrics_on_a_hand_worked_list():
    ranked = ["A:1", "B:2", "C:3", "D:4", "E:5", "F:6"]
    assert recall_at(ranked, {"C:3"}, 1) == 0 and recall_at(ranked, {"C:3"}, 5) == 1
    assert recall_at(ranked, {"F:6"}, 5) == 0 and recall_at(ranked, {"F:6"}, 10) == 1
    assert mrr_at(ranked, {"C:3", "E:5"}) == pytest.approx(1 / 3)
    assert mrr_at(ranked, {"Z:9"}) == 0
    # The primary article (listed first) counts double: finding it first beats finding the secondary first.
    assert ndcg_at(["P:1", "S:2"], ["P:1", "S:2"]) == pytest.approx(1.0)
    swapped = (1 / math.log2(2) + 2 / math.log2(3)) / (2 / math.log2(2) + 1 / math.log2(3))
    assert ndcg_at(["S:2", "P:1"], ["P:1", "S:2"]) == pytest.approx(swapped)


def test_key_fact_coverage_ignores_spacing_only():
    draft = "依第 31 條，應於期滿六個月前\n起算五個月之期間內申請展延。"
    assert coverage(draft, ["期滿六個月前起算", "五個月"]) == 1.0
    assert coverage(draft, ["期滿六個月前", "三個月"]) == 0.5
    assert coverage(draft, []) == 0.0


def test_question_files_with_unknown_keys_and_other_kinds(tmp_path):
    f = tmp_path / "q.jsonl"
    f.write_text("\n".join([
        json.dumps({"id": "x1", "question": "虛構問題一", "relevant": [{"pcode": "Z9990001", "article": "第 2-1 條"}],
                    "answer_points": ["三十日"], "category": "虛構", "kind": "answerable", "source_url": "https://example.invalid"}),
        json.dumps({"id": "x2", "question": "虛構問題二", "relevant": [{"pcode": "Z9990001", "article": "第 3 條"}],
                    "answer_summary": "只有摘要", "kind": "cites_abolished"}),
        "",
        json.dumps({"id": "x3", "question": "你好", "kind": "out_of_scope"}),
    ]), encoding="utf-8")
    qs = load_questions(f)
    assert [q.id for q in qs] == ["x1", "x2", "x3"]
    assert qs[0].relevant == ["Z9990001:2-1"] and qs[0].answer_points == ["三十日"]
    assert qs[1].kind == "cites_abolished" and qs[1].answer_points == []
    assert qs[2].kind == "out_of_scope" and qs[2].relevant == []


@pytest.mark.parametrize("line, message", [
    ('{"id": "x1", "question": "虛構"', "line 1 is not valid JSON"),
    ('{"id": "x1"}', "line 1 has no 'question'"),
])
def test_bad_question_files_name_the_line(tmp_path, line, message):
    f = tmp_path / "bad.jsonl"
    f.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_questions(f)


@pytest.mark.slow
def test_wpa_eval_on_the_real_index(real_home, tmp_path):
    """A small file in the shared format, run through the CLI as an operator would."""
    f = tmp_path / "mini.jsonl"
    rows = [
        {"id": "m1", "question": "水污法第14條", "relevant": [{"pcode": "O0040001", "article": "第 14 條"}],
         "answer_points": ["排放許可證"], "category": "named-article", "kind": "answerable"},
        {"id": "m2", "question": "沒有排放許可證就先排放廢水，會怎樣？",
         "relevant": [{"pcode": "O0040001", "article": "第 45 條"}], "category": "penalty", "kind": "answerable"},
        {"id": "m3", "question": "大家早安☀️", "kind": "out_of_scope"},
    ]
    f.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    out = tmp_path / "report.json"
    res = run_wpa(["eval", "--questions", str(f), "--json", str(out), "--no-naive"], real_home, columns=200)
    assert res.returncode == 0, res.stderr
    for label in ("hybrid (product)", "lexical only", "dense only", "key_fact_coverage", "by category"):
        assert label in res.stdout
    report = json.loads(out.read_text(encoding="utf-8"))
    product = report["retrieval"][0]
    assert product["system"] == "hybrid (product)" and product["questions"] == 2
    assert product["recall@1"] >= 0.5                       # the named article is first
    assert report["drafts"]["abstention_recall"] == 1.0
    assert report["drafts"]["key_fact_coverage"] == 1.0
    by_id = {q["id"]: q for q in report["questions"]}
    assert by_id["m1"]["rank"] == 1 and by_id["m3"]["abstained"] is True
    assert {c["category"] for c in report["by_category"]} == {"named-article", "penalty"}


def test_wpa_eval_reports_a_bad_file_without_a_traceback(tmp_path):
    f = tmp_path / "bad.jsonl"
    f.write_text("not json\n", encoding="utf-8")
    res = run_wpa(["eval", "--questions", str(f)], tmp_path / "home")
    assert res.returncode != 0
    assert "line 1 is not valid JSON" in res.stderr + res.stdout
    assert "Traceback" not in res.stderr


@pytest.mark.slow
def test_wpa_ask_prints_the_draft_and_json(real_home):
    res = run_wpa(["ask", "水污法第14條"], real_home, columns=40)
    assert res.returncode == 0, res.stderr
    first = next(line for line in res.stdout.splitlines() if line.startswith("簡答："))
    assert "水污染防治法第 14 條" in first and first.endswith("[1]")      # not broken by the narrow terminal
    assert "https://law.moj.gov.tw/LawClass/LawSingle.aspx?pcode=O0040001&flno=14" in res.stdout
    js = run_wpa(["ask", "--json", "排放許可證的有效期間是多久？"], real_home)
    assert js.returncode == 0, js.stderr
    d = json.loads(js.stdout)
    assert d["abstained"] is False and d["citations"][0]["url"].startswith("https://law.moj.gov.tw/")
    assert {"question", "text", "citations", "abstained", "timings"} <= set(d)
    routed = json.loads(run_wpa(["ask", "--json", "今天天氣如何"], real_home).stdout)
    assert routed["abstained"] is True and routed["citations"] == []


def test_wpa_ask_shows_how_a_typo_was_read(real_home):
    res = run_wpa(["ask", "排放許可正的有效期間是多久？"], real_home, columns=200)
    assert res.returncode == 0, res.stderr
    assert "「排放許可正」讀作「排放許可證」" in res.stdout
    d = json.loads(run_wpa(["ask", "--json", "排放許可正的有效期間是多久？"], real_home).stdout)
    assert d["corrections"] == [["排放許可正", "排放許可證"]]
    clean = json.loads(run_wpa(["ask", "--json", "排放許可證的有效期間是多久？"], real_home).stdout)
    assert clean["corrections"] == []


def test_wpa_ask_without_an_index_says_what_to_do(tmp_path):
    res = run_wpa(["ask", "許可證快到期要做什麼？"], tmp_path / "empty-home")
    assert res.returncode != 0
    assert "wpa ingest" in res.stderr + res.stdout
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize("name", ["questions-h.jsonl", "questions-k.jsonl"])
def test_the_sets_written_apart_point_at_real_articles(name):
    """Every relevant article exists and is in force in the 2024 file; answer points quote the primary one."""
    corpus = load_corpus(MOJ_2024)
    live = {(law.pcode, a.number): a.content for law in corpus.laws if not law.abolished for a in law.articles}
    path = APART / name
    raw = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    questions = load_questions(path)
    assert len(questions) == len(raw) == 40 and len({q.id for q in questions}) == 40
    assert sum(q.kind == "out_of_scope" for q in questions) >= 6
    for d in raw:
        rel = [(r["pcode"], r["article"]) for r in d["relevant"]]
        assert all(r in live for r in rel), d["id"]
        assert all(p in live[rel[0]] for p in d["answer_points"]), d["id"]
