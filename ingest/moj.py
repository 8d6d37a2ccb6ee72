"""Reader for the national law database's official open-data JSON.

The official download (ChLaw.json / ChOrder.json) comes zipped and UTF-8 with a
byte-order mark; the snapshots in ../shared are raw JSON (one gzipped). All of
those forms load here, and a file that is not the expected schema fails with a
message that says what is wrong instead of a KeyError deep in the pipeline.
"""
from __future__ import annotations

import gzip
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .errors import IngestError

ARTICLE_LINK = "https://law.moj.gov.tw/LawClass/LawSingle.aspx?pcode={pcode}&flno={flno}"
_PCODE = re.compile(r"pcode=([A-Za-z0-9]+)")
_ARTNO = re.compile(r"第\s*([0-9]+(?:\s*-\s*[0-9]+)?)\s*條")


@dataclass
class Article:
    number: str          # as printed: "第 14-1 條"
    flno: str            # "14-1", used in links and ids
    content: str
    chapter: str         # nearest preceding chapter/section heading ("" if none)


@dataclass
class Law:
    pcode: str
    name: str
    level: str
    category: str
    url: str
    modified: str
    effective: str
    abolished: bool
    articles: list[Article] = field(default_factory=list)
    attachments: list[dict] = field(default_factory=list)


@dataclass
class LawCorpus:
    path: str
    update_date: str     # the snapshot's UpdateDate, used as the corpus version
    laws: list[Law]

    def by_pcode(self) -> dict[str, Law]:
        return {law.pcode: law for law in self.laws}


def article_flno(article_no: str) -> str:
    """'第 14-1 條' -> '14-1' (the form the official links and our ids use)."""
    m = _ARTNO.search(article_no or "")
    return re.sub(r"\s+", "", m.group(1)) if m else (article_no or "").strip()


def article_url(pcode: str, flno: str) -> str:
    return ARTICLE_LINK.format(pcode=pcode, flno=flno)


def read_bytes(path: Path) -> bytes:
    """Raw JSON bytes from a plain, gzipped or zipped file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise IngestError(path, f"cannot read file ({exc.strerror or exc})") from exc
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise IngestError(path, f"gzip data is damaged or truncated ({exc})") from exc
    if raw[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(raw)) as zf:
                names = [n for n in zf.namelist() if n.lower().endswith(".json")]
                if not names:
                    raise IngestError(path, "zip archive holds no .json file")
                return b"".join(zf.read(n) for n in names[:1])
        except zipfile.BadZipFile as exc:
            raise IngestError(path, f"zip archive is damaged or truncated ({exc})") from exc
    return raw


def parse_json(path: Path, raw: bytes) -> dict:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data" or exc.start >= len(raw) - 3:
            raise IngestError(path, f"the file is truncated: it ends inside a character after {exc.start} bytes "
                                    "(an interrupted download?)") from exc
        raise IngestError(path, f"not UTF-8 text (byte {exc.start})") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        tail = text.rstrip()
        truncated = exc.pos >= len(tail) - 2 or not tail.endswith(("}", "]"))
        hint = " (the file looks truncated: an interrupted download?)" if truncated else ""
        raise IngestError(path, f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}{hint}") from exc


def _law_from_record(path: Path, i: int, rec: dict) -> Law:
    if not isinstance(rec, dict):
        raise IngestError(path, f"Laws[{i}] is not an object")
    for key in ("LawName", "LawURL", "LawArticles"):
        if key not in rec:
            raise IngestError(path, f"Laws[{i}] has no '{key}' field (is this the law database's open-data schema?)")
    m = _PCODE.search(rec["LawURL"] or "")
    if not m:
        raise IngestError(path, f"Laws[{i}] ({rec['LawName']}): LawURL has no pcode: {rec['LawURL']!r}")
    pcode = m.group(1)
    arts = rec["LawArticles"]
    if not isinstance(arts, list):
        raise IngestError(path, f"Laws[{i}] ({rec['LawName']}): LawArticles is not a list")
    chapter, section = "", ""
    articles: list[Article] = []
    for j, a in enumerate(arts):
        if not isinstance(a, dict) or "ArticleContent" not in a:
            raise IngestError(path, f"Laws[{i}].LawArticles[{j}] ({rec['LawName']}) has no ArticleContent")
        content = (a.get("ArticleContent") or "").replace("\r\n", "\n").strip()
        if a.get("ArticleType") == "C":
            heading = re.sub(r"\s+", " ", content)
            # A section (節) nests inside the current chapter (章); a new chapter clears it.
            if re.match(r"第\s*\S+\s*節", heading):
                section = heading
            else:
                chapter, section = heading, ""
            continue
        number = (a.get("ArticleNo") or "").strip()
        heading = f"{chapter} {section}".strip()
        articles.append(Article(number=number, flno=article_flno(number), content=content, chapter=heading))
    attachments = rec.get("LawAttachements") or []
    return Law(
        pcode=pcode,
        name=(rec["LawName"] or "").strip(),
        level=rec.get("LawLevel", ""),
        category=rec.get("LawCategory", ""),
        url=rec["LawURL"],
        modified=rec.get("LawModifiedDate", "") or "",
        effective=rec.get("LawEffectiveDate", "") or "",
        abolished=bool((rec.get("LawAbandonNote") or "").strip()),
        articles=articles,
        attachments=attachments if isinstance(attachments, list) else [],
    )


def load_corpus(path: str | Path) -> LawCorpus:
    """Load one open-data file (raw, .gz or .zip; BOM or not) and check its schema."""
    path = Path(path)
    data = parse_json(path, read_bytes(path))
    if not isinstance(data, dict) or "Laws" not in data:
        raise IngestError(path, "top level has no 'Laws' list (expected the law database's open-data JSON)")
    if not isinstance(data["Laws"], list):
        raise IngestError(path, "'Laws' is not a list")
    laws = [_law_from_record(path, i, rec) for i, rec in enumerate(data["Laws"])]
    return LawCorpus(path=str(path), update_date=str(data.get("UpdateDate", "")), laws=laws)
