"""A disk cache of trained models, keyed by the config, the data checksums and the Keras version.

One entry is <key>.keras (the model) plus <key>.json (its TrainResult without the model), each
written atomically. A lock file per key makes concurrent trainers of one config (threads or
processes) train it once: the others wait, then load what the first one wrote.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import tempfile
import threading
import zipfile
from pathlib import Path

import filelock
import keras

from .config import TrainConfig
from . import augment, data, handwriting, paths
from .paths import DEFAULT_MODEL_DIR, MNIST_DIR, UNIPEN_DIR, atomic_write_bytes
from .train import HANDWRITING_COPIES, OnEpoch, TrainResult, train

FORMAT = 11  # bump when what a cache entry holds, or how a config trains, changes


def cache_key(config: TrainConfig) -> str:
    """Everything that changes the trained model: the settings, the data and how training draws it
    (the versions of the canvas-like drawings, the writers held out), Keras, this format.
    The one key of a config: the cache's file name and the training job's name."""
    parts = [json.dumps(config.to_dict(), sort_keys=True), (MNIST_DIR / data.SUMS_FILE).read_text(),
             (UNIPEN_DIR / handwriting.SUMS_FILE).read_text(), handwriting.split_key(),
             f"{augment.AS_DRAWN_VERSION}/{handwriting.RENDER_VERSION}/{HANDWRITING_COPIES}",
             keras.__version__, str(FORMAT)]
    if config.adapted_to:  # the shipped model may be the base: a new one is another adapted model
        parts.append((DEFAULT_MODEL_DIR / "model.json").read_text())
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]


def _locked(folder: Path, key: str) -> filelock.FileLock:
    """The lock of one cache key, across threads and processes (and machines sharing the folder, where
    its file system locks)."""
    return filelock.FileLock(folder / f"{key}.lock")


def read_entry(model_path: Path, meta_path: Path, source: str) -> TrainResult:
    """Load a saved model (Keras safe mode) and its metadata; raises on anything unsound."""
    meta = json.loads(meta_path.read_text())
    model = keras.saving.load_model(model_path, compile=False, safe_mode=True)
    return TrainResult.from_meta(model, meta, source)


def write_entry(result: TrainResult, model_path: Path, meta_path: Path) -> None:
    """Model first, then metadata: an entry counts only once its .json exists."""
    model_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = model_path.with_name(f".{model_path.stem}.{os.getpid()}.{threading.get_ident()}.tmp.keras")
    try:
        result.model.save(tmp)
        tmp.replace(model_path)
    finally:
        tmp.unlink(missing_ok=True)
    atomic_write_bytes(meta_path, json.dumps(result.meta(), indent=1).encode())


def _entry_paths(config: TrainConfig, cache_dir: str | Path | None) -> tuple[str, Path, Path]:
    folder = Path(cache_dir) if cache_dir is not None else paths.cache_dir() / "models"
    key = cache_key(config)
    return key, folder / f"{key}.keras", folder / f"{key}.json"


def is_cached(config: TrainConfig, cache_dir: str | Path | None = None) -> bool:
    """Whether the cache holds an entry for config (written whole: see write_entry)."""
    return _entry_paths(config, cache_dir)[2].exists()


def load_cached(config: TrainConfig, cache_dir: str | Path | None = None) -> TrainResult:
    """The cached model for config; a LookupError if there is no sound one (this trains nothing)."""
    key, model_path, meta_path = _entry_paths(config, cache_dir)
    try:
        return read_entry(model_path, meta_path, "cache")
    except Exception as e:
        raise LookupError(f"no sound cached model for these settings ({type(e).__name__})") from None


def load_or_train(config: TrainConfig = TrainConfig(), cache_dir: str | Path | None = None,
                  on_epoch: OnEpoch | None = None) -> TrainResult:
    """The cached model for config if there is a sound one, else train it and cache it."""
    key, model_path, meta_path = _entry_paths(config, cache_dir)
    model_path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(model_path.parent, key):
        if meta_path.exists():
            try:
                return read_entry(model_path, meta_path, "cache")
            except Exception:
                # Torn, truncated or foreign: discard it and train afresh.
                meta_path.unlink(missing_ok=True)
                model_path.unlink(missing_ok=True)
        if config.adapted_to:
            from .adapt import adapted_result
            result = adapted_result(config)
        else:
            result = train(config, on_epoch=on_epoch)
        result.extra["cache_path"] = str(model_path)
        write_entry(result, model_path, meta_path)
        return result


def base_result(config: TrainConfig, cache_dir: str | Path | None = None) -> TrainResult:
    """The model of config: the shipped one for its own settings, else load_or_train's."""
    shipped = default_model()
    return shipped if config == shipped.config else load_or_train(config, cache_dir)


BUNDLE_FILES = ("model.keras", "model.json")


def bundle(result: TrainResult) -> bytes:
    """A model to take away, as the bytes of a zip: model.keras (loads with
    keras.saving.load_model(path, safe_mode=True) once mnist_core is imported, which registers its
    Deskew layer) and model.json (its TrainConfig, test figures and per-epoch history)."""
    with tempfile.TemporaryDirectory() as tmp:
        paths_ = [Path(tmp) / name for name in BUNDLE_FILES]
        write_entry(result, *paths_)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for path in paths_:
                z.write(path, path.name)
    return buf.getvalue()


MAX_MODEL_BYTES = 50_000_000  # unpacked: a model of this network is about 5 MB
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _unpacked_size(z: zipfile.ZipFile, shown: Path) -> int:
    """What a zip would unpack to, refused (before anything is unpacked) past MAX_MODEL_BYTES."""
    size = sum(i.file_size for i in z.infolist())
    if size > MAX_MODEL_BYTES:
        raise ValueError(f"{shown}: would unpack to {size / 1e6:,.0f} MB; a model of this network is a few MB")
    return size


def _load_keras(path: Path, shown: Path) -> keras.Model:
    """A .keras file in Keras's safe mode (no code in it runs), its errors told in one line about `shown`."""
    with zipfile.ZipFile(path) as z:  # a .keras file is a zip: bounded before Keras unpacks it
        _unpacked_size(z, shown)
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as e:
        reason = " ".join(str(e).split())
        reason = reason if len(reason) <= 200 else reason[:200].rsplit(" ", 1)[0] + " …"
        raise ValueError(f"{shown}: not a model MNIST Draw can read ({type(e).__name__}: {reason})") from None


def _read_meta(path: Path, shown: Path) -> dict | None:
    if not path.exists():
        return None
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"{shown}: its model.json cannot be read ({e})") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{shown}: its model.json is not a JSON object")
    return meta


def read_model_file(path: str | Path) -> tuple[keras.Model, dict | None]:
    """A model someone gives: a zip as bundle() makes it, or a .keras file (with its .json beside it,
    if there is one). Returns the model and its metadata (None if there is none). Keras safe mode:
    no code in the file runs; HDF5 (.h5) files are refused, as Keras ignores safe mode for them
    (CVE-2025-9905); nothing unpacks past MAX_MODEL_BYTES. Anything else raises a ValueError saying
    what is wrong with the user's file."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(len(HDF5_SIGNATURE))
    except OSError as e:
        raise ValueError(f"{path}: cannot be read ({e.strerror})") from None
    if not head:
        raise ValueError(f"{path}: the file is empty")
    if head == HDF5_SIGNATURE or path.suffix.lower() in (".h5", ".hdf5"):
        raise ValueError(f"{path}: an HDF5 (.h5) model, which MNIST Draw never loads: Keras runs such files without "
                         "its safe mode (CVE-2025-9905). Save it as .keras")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: neither a .keras file nor the model zip the page's Download gives")
    with zipfile.ZipFile(path) as z, tempfile.TemporaryDirectory() as tmp:
        if set(BUNDLE_FILES) <= set(z.namelist()):  # the page's Download
            _unpacked_size(z, path)
            z.extractall(tmp, members=BUNDLE_FILES)
            model = _load_keras(Path(tmp) / BUNDLE_FILES[0], path)
            meta = _read_meta(Path(tmp) / BUNDLE_FILES[1], path)
        else:  # a .keras file, with its .json beside it if there is one
            model, meta = _load_keras(path, path), _read_meta(path.with_suffix(".json"), path.with_suffix(".json"))
    if tuple(model.input_shape[1:]) != (784,) or tuple(model.output_shape[1:]) != (10,):
        raise ValueError(f"{path}: maps {model.input_shape} to {model.output_shape}, not 784 pixels to 10 digits")
    return model, meta


@functools.lru_cache(maxsize=1)
def default_model() -> TrainResult:
    """The model shipped in assets/default_model, trained by `python -m mnist_core train --ship`."""
    return read_entry(DEFAULT_MODEL_DIR / "model.keras", DEFAULT_MODEL_DIR / "model.json", "shipped")
