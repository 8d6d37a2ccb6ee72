"""Files and images businesses send, kept under WPA_HOME for the correction workflow.

Names are derived from row ids, never from what the sender called the file,
so nothing a user sends can choose a path; the original name stays in the
database. Writes go to a temporary file first so a crash leaves no half file.
"""
from __future__ import annotations

import mimetypes
import os
import re
from pathlib import Path

_SAFE_EXT = re.compile(r"^\.[A-Za-z0-9]{1,8}$")


def extension(content_type: str, file_name: str) -> str:
    suffix = Path(file_name).suffix if file_name else ""
    if suffix and _SAFE_EXT.match(suffix):
        return suffix.lower()
    guessed = mimetypes.guess_extension((content_type or "").split(";")[0].strip()) or ""
    return guessed if _SAFE_EXT.match(guessed) else ".bin"


def store(home: Path, contact_id: int, message_id: int, data: bytes, content_type: str,
          file_name: str) -> str:
    """Write ``data`` and return its path relative to ``home``."""
    rel = Path("media") / str(contact_id) / f"{message_id}{extension(content_type, file_name)}"
    target = home / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".part")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    return rel.as_posix()
