"""Evidence files: JPEGs written where the hub can serve them (a shared folder or volume)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


class EvidenceFolder:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def write(self, name: str, data: bytes) -> None:
        """Atomic: the hub never serves a half-written file."""
        if "/" in name or name.startswith("."):
            raise ValueError(f"bad evidence name {name!r}")
        handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".part")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, self.folder / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
