"""One error type for every input problem, always naming the file."""
from __future__ import annotations

from pathlib import Path


class IngestError(Exception):
    """An input file could not be used. The message names the file and the fault."""

    def __init__(self, path: str | Path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
