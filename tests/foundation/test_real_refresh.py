"""The real 2022 → 2024 refresh and the article-level diff, checked against the raw JSON."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assistant.store import read_units
from ingest.diff import diff_corpora
from ingest.manifest import load_manifest
from ingest.moj import load_corpus

from .conftest import MOJ_2022, MOJ_2024, run_wpa

pytestmark = pytest.mark.slow


# -- an independent reading of the raw files (json module only, no ingest code) --

def _raw_laws(path: Path) -> dict[str, dict]:
    data = json.loads(path.read_bytes().decode("utf-8-sig"))
    return {re.search(r"pcode=([A-Za-z0-9]+)", law["LawURL"]).group(1): law for law in data["Laws"]}


def _articles(law: dict) -> dict[str, str]:
    """ArticleNo -> content with all whitespace removed (headings skipped)."""
    return {a["ArticleNo"].strip(): "".join(a["ArticleContent"].split())
            for a in law["LawArticles"] if a.get("ArticleType") != "C"}


def _independent_diff(scope=None) -> dict:
    old, new = _raw_laws(MOJ_2022), _raw_laws(MOJ_2024)
    if scope:
        old = {p: law for p, law in old.items() if scope(p, law)}
        new = {p: law for p, law in new.items() if scope(p, law)}
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    both = sorted(set(old) & set(new))
    abolished = [p for p in both if new[p]["LawAbandonNote"].strip() and not old[p]["LawAbandonNote"].strip()]
    arts = {"added": sum(len(_articles(new[p])) for p in added), "amended": 0, "removed": 0}
    amended_laws = []
    for p in both:
        a_old, a_new = _articles(old[p]), _articles(new[p])
        amended = [n for n in a_new if n in a_old and a_old[n] != a_new[n]]
        arts["amended"] += len(amended)
        arts["added"] += len(set(a_new) - set(a_old))
        arts["removed"] += len(set(a_old) - set(a_new))
        changed = amended or set(a_new) != set(a_old)
        if p not in abolished and (changed or old[p]["LawModifiedDate"] != new[p]["LawModifiedDate"]):
            amended_laws.append(p)
    return {"added": added, "removed": removed, "abolished": sorted(abolished), "amended": sorted(amended_laws),
            "articles": arts}


def _water_scope():
    """The default manifest's selection, re-implemented from its settings."""
    m = load_manifest()
    return lambda pcode, law: (m.include_abolished or not law["LawAbandonNote"].strip()) and (
        pcode in m.pcodes or any(pcode.startswith(x) for x in m.pcode_prefixes))


@pytest.fixture(scope="module")
def corpora():
    return load_corpus(MOJ_2022), load_corpus(MOJ_2024)


def test_readme_counts_whole_file(corpora):
    """README: 472 → 506 laws; 34 added, 109 amended, 12 abolished."""
    old, new = corpora
    assert (len(old.laws), len(new.laws)) == (472, 506)
    assert (old.update_date, new.update_date) == ("20220401", "20241011")
    d = diff_corpora(old, new)
    ind = _independent_diff()
    assert len(d.laws_added) == len(ind["added"]) == 34
    assert len(d.laws_abolished) == len(ind["abolished"]) == 12
    assert len(d.laws_amended) == len(ind["amended"]) == 109
    assert d.laws_removed == [] and ind["removed"] == []
    assert sorted(p for p, _ in d.laws_added) == ind["added"]
    assert sorted(p for p, _ in d.laws_abolished) == ind["abolished"]
    assert sorted(p for p, _ in d.laws_amended) == ind["amended"]
    # No article in these two files is a renumbering, so the article counts add up directly.
    assert d.count("renumbered") == 0
    assert {k: d.count(k) for k in ("added", "amended", "removed")} == ind["articles"] == \
        {"added": 495, "amended": 733, "removed": 29}


def test_diff_within_the_water_scope(corpora):
    old, new = corpora
    m = load_manifest()
    d = diff_corpora(old, new, m.selects)
    ind = _independent_diff(_water_scope())
    # Inside the water scope no law was added or abolished between the two snapshots.
    assert d.laws_added == [] and d.laws_abolished == [] and d.laws_removed == []
    assert ind["added"] == [] and ind["abolished"] == []
    assert sorted(p for p, _ in d.laws_amended) == ind["amended"]
    assert len(ind["amended"]) == 21
    assert {k: d.count(k) for k in ("added", "amended", "removed")} == ind["articles"] == \
        {"added": 19, "amended": 162, "removed": 2}
    assert ("O0040055", "水污染防治措施計畫及許可申請審查管理辦法") in d.laws_amended
    added = [(c.pcode, c.article) for c in d.articles if c.kind == "added"]
    assert ("O0040055", "第 49-1 條") in added


def test_amended_article_shows_old_and_new_text(corpora):
    old, new = corpora
    d = diff_corpora(old, new, load_manifest().selects)
    change = next(c for c in d.articles if c.kind == "amended" and c.pcode == "O0040055" and c.article == "第 45 條")
    raw_old = next(a for a in _raw_laws(MOJ_2022)["O0040055"]["LawArticles"] if a["ArticleNo"] == "第 45 條")
    raw_new = next(a for a in _raw_laws(MOJ_2024)["O0040055"]["LawArticles"] if a["ArticleNo"] == "第 45 條")
    assert change.old_text == raw_old["ArticleContent"].replace("\r\n", "\n").strip()
    assert change.new_text == raw_new["ArticleContent"].replace("\r\n", "\n").strip()
    assert change.old_text != change.new_text
    assert change.law_name == "水污染防治措施計畫及許可申請審查管理辦法"


def test_refresh_summary_embeds_only_new_texts(real_build):
    home, summaries = real_build
    first, second = summaries["2022"], summaries["2024"]
    assert first["switched"] and second["switched"]
    assert first["corpus_version"] == "20220401" and second["corpus_version"] == "20241011"
    # A fresh home embeds everything in force once; abolished units get no vector.
    assert first["embedded"] == first["units"] - first["lexical_only"] and first["units"] == first["added"]
    assert first["lexical_only"] == first["abolished_units"] > 0
    assert 0 < second["embedded"] < second["units"] / 2
    assert second["added"] > 0 and second["changed"] > 0
    assert second["embedded"] <= second["added"] + second["changed"]
    assert second["unchanged"] + second["added"] + second["changed"] == second["units"]
    assert second["abolished_units"] > 0

    # embedded == the refreshed texts the 2022 version had not embedded.
    index = home / "index"
    new_units = read_units(index / second["version_id"] / "units.jsonl")
    old_units = read_units(index / first["version_id"] / "units.jsonl")
    assert len(new_units) == second["units"] and len(old_units) == first["units"]
    old_texts = {u.embed_text() for u in old_units}
    assert second["embedded"] == len({u.embed_text() for u in new_units if not u.abolished} - old_texts)

    old_by = {u.id: u for u in old_units}
    assert second["added"] == sum(u.id not in old_by for u in new_units)
    assert second["changed"] == sum(u.id in old_by and old_by[u.id].content_hash != u.content_hash
                                    for u in new_units)
    assert second["removed"] == len(set(old_by) - {u.id for u in new_units})

    # The refresh diff is recorded in the summary and agrees with the raw files.
    assert second["diff"]["laws_amended"] == 21
    assert second["diff"]["articles"] == {"added": 19, "amended": 162, "removed": 2, "renumbered": 0}

    # Abolished laws are indexed and marked, and counted.
    assert second["abolished_units"] == sum(u.abolished for u in new_units)
    abolished_raw = {p for p, law in _raw_laws(MOJ_2024).items() if law["LawAbandonNote"].strip()}
    assert {u.pcode for u in new_units if u.abolished} == {u.pcode for u in new_units if u.pcode in abolished_raw}
    assert any(u.pcode == "O0040012" and u.abolished for u in new_units)
    # A text unchanged since 2022 keeps the version it first appeared in; a new article has 2024.
    by_id = {u.id: u for u in new_units}
    assert by_id["O0040001:14"].corpus_version == "20220401"
    assert by_id["O0040055:49-1"].corpus_version == "20241011"


def test_wpa_diff_cli_on_the_real_pair(tmp_path):
    r = run_wpa(["diff", str(MOJ_2022), str(MOJ_2024)], tmp_path / "home", columns=400)
    assert r.returncode == 0, r.stderr
    assert "20220401 → 20241011" in r.stdout
    assert "laws added: 0" in r.stdout and "laws amended: 21" in r.stdout
    assert "articles: added 19, amended 162, removed 2, renumbered 0" in r.stdout
    assert "[amended] 水污染防治措施計畫及許可申請審查管理辦法 第 45 條" in r.stdout
    assert "舊：" in r.stdout and "新：" in r.stdout

    rj = run_wpa(["diff", str(MOJ_2022), str(MOJ_2024), "--all", "--json"], tmp_path / "home")
    assert rj.returncode == 0, rj.stderr
    d = json.loads(rj.stdout)
    assert (len(d["laws_added"]), len(d["laws_abolished"]), len(d["laws_amended"])) == (34, 12, 109)
    assert (d["old_version"], d["new_version"]) == ("20220401", "20241011")
