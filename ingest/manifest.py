"""The corpus manifest (corpus/sources.toml): what goes into the index."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import IngestError
from .moj import Law

DEFAULT_MANIFEST = Path(__file__).resolve().parent.parent / "corpus" / "sources.toml"


@dataclass
class DocumentSource:
    path: Path
    kind: str
    title: str = ""
    url: str = ""


@dataclass
class AdjacentRegime:
    """Laws of a neighbouring regime (marine, drinking water …) and the words that name it.

    The water-permit desk answers from them only when a question speaks of
    their subject; otherwise retrieval ranks them below the core permit laws
    (see ``assistant.retrieval``). Kept in the manifest because which laws are
    core is the bureau's call, not the code's.
    """
    subject: list[str]
    pcodes: list[str]


@dataclass
class Manifest:
    path: Path
    law_urls: list[str]
    pcode_prefixes: list[str]
    pcodes: list[str]
    categories: list[str]
    include_abolished: bool
    documents: list[DocumentSource] = field(default_factory=list)
    adjacent: list[AdjacentRegime] = field(default_factory=list)

    def selects(self, law: Law) -> bool:
        if law.abolished and not self.include_abolished:
            return False
        if law.pcode in self.pcodes:
            return True
        if any(law.pcode.startswith(p) for p in self.pcode_prefixes):
            return True
        return any(c and c in law.category for c in self.categories)


def load_manifest(path: str | Path | None = None) -> Manifest:
    path = Path(path or os.environ.get("WPA_MANIFEST") or DEFAULT_MANIFEST)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise IngestError(path, f"cannot read manifest ({exc.strerror or exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise IngestError(path, f"manifest is not valid TOML ({exc})") from exc
    laws = data.get("laws", {})
    inc = laws.get("include", {})
    docs = []
    for i, d in enumerate(data.get("documents", [])):
        if "path" not in d or "kind" not in d:
            raise IngestError(path, f"documents[{i}] needs 'path' and 'kind'")
        docs.append(DocumentSource(path=(path.parent / d["path"]).resolve(), kind=d["kind"],
                                   title=d.get("title", ""), url=d.get("url", "")))
    adjacent = []
    for i, d in enumerate(laws.get("adjacent", [])):
        subject, pcodes = d.get("subject"), d.get("pcodes")
        if not (isinstance(subject, list) and subject and isinstance(pcodes, list) and pcodes):
            raise IngestError(path, f"laws.adjacent[{i}] needs non-empty lists 'subject' and 'pcodes'")
        adjacent.append(AdjacentRegime(subject=[str(x) for x in subject], pcodes=[str(x) for x in pcodes]))
    return Manifest(
        path=path,
        law_urls=list(laws.get("urls", [])),
        pcode_prefixes=list(inc.get("pcode_prefixes", [])),
        pcodes=list(inc.get("pcodes", [])),
        categories=list(inc.get("categories", [])),
        include_abolished=bool(inc.get("include_abolished", True)),
        documents=docs,
        adjacent=adjacent,
    )
