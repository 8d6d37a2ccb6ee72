"""The bureau's own material: PDFs, CSV lists and Markdown guides.

These become units beside the law articles so a draft can cite the bureau's
FAQ, its forms catalog or a common review defect. Each reader checks what it
needs (columns, readable pages) and says which file is wrong and how.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import Path

from .errors import IngestError
from .units import Unit, split_paragraphs

# Columns each CSV kind must have; other columns are kept as extra context.
CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "faq": ("question", "answer"),
    "form": ("code", "name", "description"),
    "defect": ("item", "description"),
}


def _doc_id(kind: str, path: Path, key: str) -> str:
    return f"{kind}:{path.stem}:{hashlib.sha1(key.encode('utf-8')).hexdigest()[:10]}"


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise IngestError(path, f"cannot read file ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise IngestError(path, f"not UTF-8 text (byte {exc.start})") from exc


def csv_units(path: Path, kind: str, title: str = "", url: str = "") -> list[Unit]:
    """Rows of a FAQ / forms catalog / review-defect list, one unit per row."""
    if kind not in CSV_COLUMNS:
        raise IngestError(path, f"unknown CSV kind {kind!r}; expected one of {', '.join(CSV_COLUMNS)}")
    reader = csv.DictReader(io.StringIO(_read_text(path)))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in CSV_COLUMNS[kind] if c not in header]
    if missing:
        raise IngestError(path, f"missing column(s) {', '.join(missing)} for a {kind} list (found: {', '.join(header) or 'none'})")
    units = []
    for line, row in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k}
        if not any(row.get(c) for c in CSV_COLUMNS[kind]):
            continue
        if kind == "faq":
            head, body = row["question"], row["answer"]
        elif kind == "form":
            head, body = f"{row['code']} {row['name']}", row["description"]
        else:
            head, body = row["item"], row["description"]
        if not body:
            raise IngestError(path, f"line {line}: empty '{CSV_COLUMNS[kind][-1]}'")
        basis = row.get("basis", "")
        units.append(Unit(
            id=_doc_id(kind, path, head), source_kind=kind, law_name=title or path.stem, pcode="",
            article="", flno="", part=0, chapter="", text=body + (f"\n依據：{basis}" if basis else ""),
            url=row.get("url", "") or url, extra=head,
        ))
    return units


def markdown_units(path: Path, kind: str = "guide", title: str = "", url: str = "") -> list[Unit]:
    """A Markdown guide, one unit per section (## heading)."""
    text = _read_text(path)
    doc_title = title
    sections: list[tuple[str, list[str]]] = []
    for ln in text.splitlines():
        m = re.match(r"^(#{1,3})\s+(.*)$", ln)
        if m and len(m.group(1)) == 1 and not doc_title:
            doc_title = m.group(2).strip()
            continue
        if m:
            sections.append((m.group(2).strip(), []))
        elif sections:
            sections[-1][1].append(ln)
        elif ln.strip():
            sections.append(("", [ln]))
    units = []
    for head, lines in sections:
        body = "\n".join(lines).strip()
        if not body:
            continue
        for k, (_, piece) in enumerate(split_paragraphs(body)):
            units.append(Unit(
                id=_doc_id(kind, path, f"{head}#{k}"), source_kind=kind, law_name=doc_title or path.stem,
                pcode="", article="", flno="", part=k, chapter="", text=piece, url=url, extra=head,
            ))
    if not units:
        raise IngestError(path, "no sections with text found (expected '## heading' followed by text)")
    return units


def pdf_units(path: Path, kind: str = "pdf", title: str = "", url: str = "") -> list[Unit]:
    """A PDF (permit form, guidance), one unit per page part, through pypdf."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        pages = [(p.extract_text() or "") for p in reader.pages]
    except (PdfReadError, OSError, ValueError, KeyError) as exc:
        raise IngestError(path, f"unreadable PDF ({exc})") from exc
    name = title or (reader.metadata.title if reader.metadata and reader.metadata.title else path.stem)
    units = []
    for pno, page in enumerate(pages, start=1):
        page = re.sub(r"[ \t]+", " ", page).strip()
        if not page:
            continue
        for k, (_, piece) in enumerate(split_paragraphs(page)):
            units.append(Unit(
                id=_doc_id(kind, path, f"p{pno}#{k}"), source_kind=kind, law_name=name, pcode="",
                article="", flno="", part=k, chapter=f"第 {pno} 頁", text=piece, url=url,
            ))
    if not units:
        raise IngestError(path, "PDF has no extractable text (scanned image? it needs OCR first)")
    return units


def document_units(path: Path, kind: str, title: str = "", url: str = "") -> list[Unit]:
    """Dispatch on the file's ending."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise IngestError(path, "file not found")
    if suffix == ".pdf":
        return pdf_units(path, kind, title, url)
    if suffix == ".csv":
        return csv_units(path, kind, title, url)
    if suffix in (".md", ".markdown"):
        return markdown_units(path, kind, title, url)
    raise IngestError(path, f"unsupported file type {suffix!r} (expected .pdf, .csv or .md)")
