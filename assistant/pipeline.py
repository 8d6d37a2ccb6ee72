"""The assistant as one object: load the current index once, answer many questions."""
from __future__ import annotations

import time

from .citations import Draft
from .config import Settings, load_settings
from .drafting import Drafter, get_drafter
from .embedders import get_embedder
from .retrieval import Retriever, SearchResult
from .store import IndexMissing, load_version  # noqa: F401  (IndexMissing re-exported for callers)
from .textproc import fold


class Assistant:
    """Retriever + drafter, warm. ``Assistant.load()`` reads ``$WPA_HOME``."""

    def __init__(self, retriever: Retriever, drafter: Drafter, settings: Settings) -> None:
        self.retriever = retriever
        self.drafter = drafter
        self.settings = settings

    @classmethod
    def load(cls, settings: Settings | None = None) -> "Assistant":
        settings = settings or load_settings()
        version = load_version(settings.index_root, chroma_url=settings.chroma_url)
        embedder = get_embedder(settings.embedder)
        return cls(Retriever(version, embedder), get_drafter(settings.drafter), settings)

    @property
    def version_id(self) -> str:
        return self.retriever.version.version_id

    def search(self, question: str, k: int = 10, mode: str = "hybrid",
               include_abolished: bool | None = None) -> SearchResult:
        return self.retriever.search(question, k=k, mode=mode, include_abolished=include_abolished)

    def ask(self, question: str, include_abolished: bool | None = None) -> Draft:
        t0 = time.perf_counter()
        result = self.search(question, k=10, include_abolished=include_abolished)
        draft = self.drafter.draft(question, result)
        draft.timings.update(result.timings)
        draft.corrections = list(result.corrections)
        # Shown to staff only when the reading changed more than a variant the search folds anyway (台/臺).
        draft.read_as = result.read_as if fold(result.read_as) != fold(question) else ""
        draft.timings["ask_ms"] = (time.perf_counter() - t0) * 1000
        return draft
