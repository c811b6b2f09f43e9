"""Where the project keeps its shipped assets and its per-user cache."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

PROJECT_DIR = Path(__file__).resolve().parent.parent
ASSETS_DIR = PROJECT_DIR / "assets"
MNIST_DIR = ASSETS_DIR / "mnist"
DEFAULT_MODEL_DIR = ASSETS_DIR / "default_model"
UNIPEN_DIR = ASSETS_DIR / "unipen"

CACHE_ENV = "MNIST_DRAW_CACHE_DIR"


def user_dir(kind: str) -> Path:
    """This app's folder in the platform's per-user "cache" or "data" place (XDG's on Linux)."""
    import platformdirs
    where = platformdirs.user_cache_dir if kind == "cache" else platformdirs.user_data_dir
    return Path(where("mnist-draw", appauthor=False))


def cache_dir() -> Path:
    """The per-user cache: $MNIST_DRAW_CACHE_DIR, else the platform's cache folder."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    return user_dir("cache")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder, then rename: readers never see a torn file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the file is no secret (os.fchmod: not on Windows before 3.13)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def cached_array(name: str, key: bytes, make: Callable[[], np.ndarray]) -> np.ndarray:
    """make(), computed once per key and kept in the cache folder as an .npy file."""
    path = cache_dir() / "mnist" / f"{name}-{hashlib.sha256(key).hexdigest()[:20]}.npy"
    try:
        return np.load(path)
    except (OSError, ValueError):
        pass  # not there yet, or unreadable: make it again
    out = make()
    buf = io.BytesIO()
    np.save(buf, out)
    try:
        atomic_write_bytes(path, buf.getvalue())
    except OSError:
        pass  # a read-only cache only costs time
    return out
