"""Synthetic fixtures for the foundation tests (fictional laws, documents, a hand-made PDF)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
LAWS_JSON = FIXTURES / "fictional_laws.json"
FAQ_CSV = FIXTURES / "fictional_faq.csv"
GUIDE_MD = FIXTURES / "fictional_guide.md"
FORMS_MISSING_COLUMN = FIXTURES / "fictional_forms_missing_column.csv"
PDF_LINES = ["Fictional discharge test permit checklist", "Submit form ZT-01 ninety days before expiry."]
REPO = Path(__file__).resolve().parent.parent.parent
# The same real files tests/conftest.py builds the session index from.
SHARED = Path(os.environ.get("WPA_SHARED", REPO.parent / "shared"))
MOJ_2022 = SHARED / "corpus" / "moj" / "env-20220401.json"
MOJ_2024 = SHARED / "corpus" / "moj" / "env-20241011.json"


def make_pdf(lines: list[str]) -> bytes:
    """A minimal, valid one-page PDF (Helvetica, ASCII text) with a correct xref table."""
    content = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({ln}) Tj T*" for ln in lines) + " ET"
    objs = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def law_data() -> dict:
    return json.loads(LAWS_JSON.read_text(encoding="utf-8"))


def write_laws(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def write_manifest(path: Path, documents: list[tuple[Path, str, str]] | None = None,
                   prefixes: tuple[str, ...] = ("Z999",)) -> Path:
    """A manifest selecting the fictional water laws (Z999…) and the given documents."""
    lines = ["[laws]", "urls = []", "", "[laws.include]",
             "pcode_prefixes = [" + ", ".join(json.dumps(p) for p in prefixes) + "]",
             "pcodes = []", "include_abolished = true", ""]
    for doc, kind, title in documents or []:
        lines += ["[[documents]]", f"path = {json.dumps(str(doc))}", f"kind = {json.dumps(kind)}",
                  f"title = {json.dumps(title)}", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture
def synth_pdf(tmp_path) -> Path:
    p = tmp_path / "fictional-checklist.pdf"
    p.write_bytes(make_pdf(PDF_LINES))
    return p


@pytest.fixture
def synth_manifest(tmp_path, synth_pdf) -> Path:
    return write_manifest(tmp_path / "sources.toml", [
        (FAQ_CSV, "faq", "虛構常見問答"),
        (GUIDE_MD, "guide", ""),
        (synth_pdf, "pdf", "Fictional checklist"),
    ])


@pytest.fixture
def synth_source(tmp_path) -> Path:
    return write_laws(tmp_path / "laws-v1.json", law_data())


def run_wpa(args: list[str], home: Path, columns: int | None = None,
            extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The installed `wpa` command in a subprocess, as an operator runs it (stderr not a terminal)."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "WPA_LAW_SOURCE", "WPA_MANIFEST")}
    env["WPA_HOME"] = str(home)
    env.update(extra_env or {})
    if columns:
        env["COLUMNS"] = str(columns)
    wpa = Path(sys.executable).parent / "wpa"
    return subprocess.run([str(wpa), *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
