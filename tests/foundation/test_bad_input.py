"""Bad input fails with an IngestError naming the file and the fault, and never touches CURRENT."""
from __future__ import annotations

import gzip
import io
import json
import os
import zipfile
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.indexing import run_ingest
from assistant.pipeline import Assistant
from assistant.store import current_version_id
from ingest.documents import document_units
from ingest.errors import IngestError
from ingest.manifest import load_manifest
from ingest.moj import load_corpus

from .conftest import (FAQ_CSV, FORMS_MISSING_COLUMN, GUIDE_MD, LAWS_JSON, law_data, run_wpa, write_laws,
                       write_manifest)


def _raises(fn, path: Path, *needles: str) -> IngestError:
    with pytest.raises(IngestError) as info:
        fn(path)
    msg = str(info.value)
    assert str(path) in msg, msg
    assert info.value.path == str(path)
    for n in needles:                       # the description, not the file name, must say it
        assert n in info.value.problem, msg
    return info.value


# -- the law file -----------------------------------------------------------

def test_truncated_between_values(tmp_path):
    raw = LAWS_JSON.read_text(encoding="utf-8")
    cut = raw.rindex("{", 0, raw.index('"ArticleNo": "第 4 條"'))    # ends just after a "," between articles
    p = tmp_path / "cut-between-values.json"
    p.write_text(raw[:cut], encoding="utf-8")
    _raises(load_corpus, p, "malformed JSON", "truncated")


def test_truncated_inside_a_string(tmp_path):
    """A download cut in the middle of an article's text (the usual case) is reported as truncated."""
    raw = LAWS_JSON.read_text(encoding="utf-8")
    cut = raw.index("虛構排放測試許可證有效期間屆滿") + 6
    p = tmp_path / "cut-in-string.json"
    p.write_text(raw[:cut], encoding="utf-8")
    _raises(load_corpus, p, "truncated")


def test_truncated_inside_a_multibyte_character(tmp_path):
    """Cut inside a 3-byte UTF-8 character: the file is truncated, not in another encoding."""
    raw = LAWS_JSON.read_bytes()
    cut = raw.index("虛構排放測試許可證有效期間屆滿".encode("utf-8")) + 7   # 2 bytes into the 3rd character
    p = tmp_path / "cut-mid-char.json"
    p.write_bytes(raw[:cut])
    _raises(load_corpus, p, "truncated")


def test_truncated_gzip(tmp_path):
    gz = gzip.compress(LAWS_JSON.read_bytes())
    p = tmp_path / "laws.json.gz"
    p.write_bytes(gz[: len(gz) // 2])
    _raises(load_corpus, p, "gzip", "truncated")


def test_zip_without_json(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "no laws here")
    p = tmp_path / "ChLaw.zip"
    p.write_bytes(buf.getvalue())
    _raises(load_corpus, p, "no .json")


def test_malformed_json(tmp_path):
    p = tmp_path / "malformed.json"
    p.write_text('{"UpdateDate": "20990101",\n "Laws": [{"LawName": "虛構水質測試法",, }]}\n', encoding="utf-8")
    err = _raises(load_corpus, p, "malformed JSON", "line 2")
    assert "truncated" not in err.problem


def test_json_without_laws(tmp_path):
    p = tmp_path / "no-laws.json"
    p.write_text(json.dumps({"UpdateDate": "20990101", "Data": []}), encoding="utf-8")
    _raises(load_corpus, p, "'Laws'")


def test_laws_not_a_list(tmp_path):
    p = tmp_path / "laws-dict.json"
    p.write_text(json.dumps({"UpdateDate": "20990101", "Laws": {"a": 1}}), encoding="utf-8")
    _raises(load_corpus, p, "'Laws' is not a list")


def test_law_record_without_articles(tmp_path):
    data = law_data()
    del data["Laws"][1]["LawArticles"]
    p = write_laws(tmp_path / "no-articles.json", data)
    _raises(load_corpus, p, "Laws[1]", "'LawArticles'")


def test_law_url_without_pcode(tmp_path):
    data = law_data()
    data["Laws"][0]["LawURL"] = "https://law.moj.gov.tw/LawClass/LawAll.aspx"
    p = write_laws(tmp_path / "no-pcode.json", data)
    _raises(load_corpus, p, "Laws[0]", "虛構水質測試法", "pcode")


def test_non_utf8_json(tmp_path):
    p = tmp_path / "big5.json"
    p.write_bytes(LAWS_JSON.read_text(encoding="utf-8").encode("cp950"))
    _raises(load_corpus, p, "not UTF-8")


def test_missing_file(tmp_path):
    _raises(load_corpus, tmp_path / "nowhere.json", "cannot read")


# -- the bureau's documents -------------------------------------------------

def test_unreadable_pdf(tmp_path):
    p = tmp_path / "scan.pdf"
    p.write_bytes(os.urandom(4096))
    _raises(lambda x: document_units(x, "pdf"), p, "unreadable PDF")


def test_csv_missing_required_column():
    err = _raises(lambda x: document_units(x, "form"), FORMS_MISSING_COLUMN, "missing column", "description")
    assert "code, name" in str(err)          # says what it found


def test_non_utf8_csv(tmp_path):
    p = tmp_path / "faq-big5.csv"
    p.write_bytes(FAQ_CSV.read_text(encoding="utf-8").encode("cp950"))
    _raises(lambda x: document_units(x, "faq"), p, "not UTF-8")


def test_unsupported_document_type(tmp_path):
    p = tmp_path / "faq.xlsx"
    p.write_bytes(b"PK\x03\x04")
    _raises(lambda x: document_units(x, "faq"), p, ".xlsx")


def test_invalid_manifest(tmp_path):
    p = tmp_path / "sources.toml"
    p.write_text("[laws\nurls = ", encoding="utf-8")
    _raises(load_manifest, p, "not valid TOML")


def test_manifest_adjacent_regime_without_pcodes(tmp_path):
    p = tmp_path / "sources.toml"
    p.write_text('[laws]\nurls = []\n[[laws.adjacent]]\nsubject = ["海洋"]\n', encoding="utf-8")
    _raises(load_manifest, p, "laws.adjacent[0] needs non-empty lists 'subject' and 'pcodes'")


# -- through run_ingest: the current index survives -------------------------

def test_bad_sources_leave_current_index_in_service(tmp_path, synth_source, synth_manifest):
    settings = Settings(home=tmp_path / "home")
    good = run_ingest(settings, source=str(synth_source), manifest_path=str(synth_manifest))
    index = settings.index_root
    before = sorted(p.name for p in index.iterdir())

    truncated = tmp_path / "cut.json"
    truncated.write_bytes(synth_source.read_bytes()[:2000])
    no_articles = law_data()
    del no_articles["Laws"][0]["LawArticles"]
    no_articles_path = write_laws(tmp_path / "no-articles.json", no_articles)
    bad_pdf = tmp_path / "bad.pdf"
    bad_pdf.write_bytes(os.urandom(2048))
    bad_pdf_manifest = write_manifest(tmp_path / "bad-pdf.toml", [(GUIDE_MD, "guide", ""), (bad_pdf, "pdf", "")])
    bad_csv_manifest = write_manifest(tmp_path / "bad-csv.toml", [(FORMS_MISSING_COLUMN, "form", "")])

    cases = [
        (str(truncated), str(synth_manifest), truncated),
        (str(no_articles_path), str(synth_manifest), no_articles_path),
        (str(synth_source), str(bad_pdf_manifest), bad_pdf),
        (str(synth_source), str(bad_csv_manifest), FORMS_MISSING_COLUMN),
    ]
    for source, manifest, culprit in cases:
        with pytest.raises(IngestError) as info:
            run_ingest(settings, source=source, manifest_path=manifest)
        assert str(culprit) in str(info.value)
        assert current_version_id(index) == good.version_id
        assert sorted(p.name for p in index.iterdir()) == before

    a = Assistant.load(settings)
    assert a.version_id == good.version_id
    draft = a.ask("虛構水質測試法第4條")
    assert not draft.abstained
    assert draft.citations[0].unit_id == "Z9990001:4"


def test_cli_bad_source_exits_nonzero_and_keeps_current(tmp_path, synth_source, synth_manifest):
    home = tmp_path / "home"
    good = run_ingest(Settings(home=home), source=str(synth_source), manifest_path=str(synth_manifest))
    bad = tmp_path / "bad.json"
    bad.write_bytes(synth_source.read_bytes()[:1500])
    r = run_wpa(["ingest", "--source", str(bad), "--manifest", str(synth_manifest)], home, columns=400)
    assert r.returncode != 0
    assert str(bad) in r.stderr
    assert "left unchanged" in r.stderr
    assert "Traceback" not in r.stderr
    assert current_version_id(home / "index") == good.version_id
    assert Assistant.load(Settings(home=home)).search("虛構水質測試法第2條", k=1).hits[0].key == "Z9990001:2"


def test_cli_error_names_a_long_path_intact_when_stderr_is_not_a_terminal(tmp_path, synth_manifest):
    """Scripts and cron logs grep the error for the file; it must not be hard-wrapped at 80 columns."""
    folder = tmp_path / "downloads" / "moj-open-data-2024-10-11"
    folder.mkdir(parents=True)
    bad = folder / "ChLaw-interrupted-download.json"
    bad.write_text('{"UpdateDate": "20241011", "Laws": [', encoding="utf-8")
    assert len(str(bad)) > 80
    r = run_wpa(["ingest", "--source", str(bad), "--manifest", str(synth_manifest)], tmp_path / "home")
    assert r.returncode != 0
    assert str(bad) in r.stderr, r.stderr


def test_cli_error_keeps_brackets_in_the_file_name(tmp_path, synth_manifest):
    """The error is printed through rich: a '[...]' in a path must not be taken for markup."""
    bad = tmp_path / "ChLaw[backup].json"
    bad.write_text("{}", encoding="utf-8")
    r = run_wpa(["ingest", "--source", str(bad), "--manifest", str(synth_manifest)], tmp_path / "h", columns=400)
    assert r.returncode != 0
    assert str(bad) in r.stderr, r.stderr
