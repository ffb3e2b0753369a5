"""Evidence files: JPEGs and clips written where the hub can serve them (a shared folder or
volume)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


class EvidenceFolder:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def write(self, name: str, data: bytes) -> None:
        """Atomic: the hub never serves a half-written file."""

        def put(path: str) -> None:
            with open(path, "wb") as out:
                out.write(data)

        self.write_with(name, put)

    def write_with(self, name: str, writer: Callable[[str], None]) -> None:
        """Atomic too, for a writer that needs a path (an encoder): it writes a temporary file
        (suffix `.part`, so it must not guess the format from the name), then that is renamed."""
        if "/" in name or name.startswith("."):
            raise ValueError(f"bad evidence name {name!r}")
        handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".part")
        os.close(handle)
        try:
            writer(temporary)
            os.replace(temporary, self.folder / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
