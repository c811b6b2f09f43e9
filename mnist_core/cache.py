"""A disk cache of trained models, keyed by the config, the data checksums and the Keras version.

One entry is <key>.keras (the model, for Keras and for download), <key>.npz (its weights as numpy
arrays: what the page reads, without TensorFlow) and <key>.json (its TrainResult without the model),
each written atomically, the .json last. A lock file per key makes concurrent trainers of one config
(threads or processes) train it once: the others wait, then load what the first one wrote. Keras is
imported only by what trains or reads a .keras file.
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

import importlib.metadata

import filelock

from .config import TrainConfig
from . import augment, data, handwriting, paths
from .network import Network, TrainResult, as_network
from .paths import DEFAULT_MODEL_DIR, MNIST_DIR, UNIPEN_DIR, atomic_write_bytes

FORMAT = 13  # bump when what a cache entry holds, or how a config trains, changes (13: struck 0s in augmenting)


def cache_key(config: TrainConfig) -> str:
    """Everything that changes the trained model: the settings, the data and how training draws it
    (the versions of the canvas-like drawings, the writers held out), Keras, this format.
    The one key of a config: the cache's file name and the training job's name."""
    parts = [json.dumps(config.to_dict(), sort_keys=True), (MNIST_DIR / data.SUMS_FILE).read_text(),
             (UNIPEN_DIR / handwriting.SUMS_FILE).read_text(), handwriting.split_key(),
             f"{augment.AS_DRAWN_VERSION}/{handwriting.RENDER_VERSION}/{handwriting.HANDWRITING_COPIES}",
             importlib.metadata.version("keras"), str(FORMAT)]
    if config.adapted_to:  # the shipped model may be the base: a new one is another adapted model
        from .adapt import BATCH, DISTILL, LEARNING_RATE, MINE, SPREAD, STEPS
        parts += [(DEFAULT_MODEL_DIR / "model.json").read_text(),
                  f"{STEPS}/{BATCH}/{MINE}/{LEARNING_RATE}/{DISTILL}" + ("" if SPREAD == 0 else f"/{SPREAD}")]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]


def _locked(folder: Path, key: str) -> filelock.FileLock:
    """The lock of one cache key, across threads and processes (and machines sharing the folder, where
    its file system locks)."""
    return filelock.FileLock(folder / f"{key}.lock")


def read_entry(model_path: Path, meta_path: Path, source: str) -> TrainResult:
    """A saved model's Network (from the .npz beside model_path: arrays only, nothing unpickled) and its
    metadata; raises on anything unsound."""
    meta = json.loads(meta_path.read_text())
    if not zipfile.is_zipfile(model_path):  # the .keras file the page's Download gives: whole, or retrained
        raise ValueError(f"{model_path}: missing or torn")
    result = TrainResult.from_meta(Network.from_npz(model_path.with_suffix(".npz")), meta, source)
    result.extra["cache_path"] = str(model_path)  # this machine's path (a worker elsewhere wrote its own)
    return result


def entry_files(model_path: Path) -> dict[str, bytes]:
    """An entry's files by suffix ("keras", "npz", "json"): what a worker sends back through the broker."""
    return {suffix: model_path.with_suffix("." + suffix).read_bytes() for suffix in ("keras", "npz", "json")}


def put_entry_files(files: dict[str, bytes], model_path: Path) -> None:
    """Write entry_files' bytes as an entry at model_path, each atomically, the .json last."""
    for suffix in ("keras", "npz", "json"):
        atomic_write_bytes(model_path.with_suffix("." + suffix), files[suffix])


def write_entry(result: TrainResult, model_path: Path, meta_path: Path) -> None:
    """The .keras model (Keras: in the process that trained it), its .npz, then the metadata: an entry
    counts only once its .json exists."""
    model_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = model_path.with_name(f".{model_path.stem}.{os.getpid()}.{threading.get_ident()}.tmp.keras")
    try:
        result.model.save(tmp)
        tmp.replace(model_path)
    finally:
        tmp.unlink(missing_ok=True)
    atomic_write_bytes(model_path.with_suffix(".npz"), as_network(result.model).to_npz())
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


def entry_path(config: TrainConfig, cache_dir: str | Path | None = None) -> Path:
    """Where config's .keras file is, or would be (its .npz and .json beside it)."""
    return _entry_paths(config, cache_dir)[1]


def cached_results(cache_dir: str | Path | None = None) -> tuple[list[TrainResult], list[str]]:
    """Every model in the cache, without its weights (model None): its settings and figures from its .json;
    and a note for each entry that cannot be read (skipped)."""
    folder = Path(cache_dir) if cache_dir is not None else paths.cache_dir() / "models"
    results, skipped = [], []
    for meta in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            results.append(TrainResult.from_meta(None, json.loads(meta.read_text()), "cache"))
        except Exception as e:
            skipped.append(f"{meta.name}: {type(e).__name__}")
    return results, skipped


def load_or_train(config: TrainConfig = TrainConfig(), cache_dir: str | Path | None = None,
                  on_epoch=None, drawings=None) -> TrainResult:
    """The cached model for config if there is a sound one, else train it (on_epoch(epoch, logs) after
    each epoch; drawings: a user_drawings.Drawings, default the database's) and cache it. Imports the
    training's modules, and so TensorFlow, only to train."""
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
            result = adapted_result(config, drawings)
        else:
            result = train(config, on_epoch=on_epoch, drawings=drawings)
        result.extra["cache_path"] = str(model_path)
        write_entry(result, model_path, meta_path)
        return result


def train(config, on_epoch=None, drawings=None):
    """train.train, imported here only when something trains (it imports TensorFlow)."""
    from .train import train as train_
    return train_(config, on_epoch=on_epoch, drawings=drawings)


def base_result(config: TrainConfig, cache_dir: str | Path | None = None) -> TrainResult:
    """The model of config: the shipped one for its own settings, else load_or_train's."""
    shipped = default_model()
    return shipped if config == shipped.config else load_or_train(config, cache_dir)


BUNDLE_FILES = ("model.keras", "model.json")


def bundle(result: TrainResult) -> bytes:
    """A model to take away, as the bytes of a zip: model.keras (loads with
    keras.saving.load_model(path, safe_mode=True) once mnist_core.model is imported, which registers its
    Deskew layer) and model.json (its TrainConfig, test figures and per-epoch history). From its files
    on disk (a cached or shipped model), else (a Keras model just trained) written afresh."""
    with tempfile.TemporaryDirectory() as tmp:
        saved = result.extra.get("cache_path")
        if saved and Path(saved).exists():
            paths_ = [Path(saved), Path(saved).with_suffix(".json")]
        else:
            paths_ = [Path(tmp) / name for name in BUNDLE_FILES]
            write_entry(result, *paths_)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for path, name in zip(paths_, BUNDLE_FILES):
                z.write(path, name)
    return buf.getvalue()


MAX_MODEL_BYTES = 50_000_000  # unpacked: a model of this network is about 5 MB
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _unpacked_size(z: zipfile.ZipFile, shown: Path) -> int:
    """What a zip would unpack to, refused (before anything is unpacked) past MAX_MODEL_BYTES."""
    size = sum(i.file_size for i in z.infolist())
    if size > MAX_MODEL_BYTES:
        raise ValueError(f"{shown}: would unpack to {size / 1e6:,.0f} MB; a model of this network is a few MB")
    return size


def _load_keras(path: Path, shown: Path):
    """A .keras file in Keras's safe mode (no code in it runs), its errors told in one line about `shown`."""
    import keras

    from . import model as _  # noqa: F401  (registers the Deskew layer)
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


def read_model_file(path: str | Path) -> tuple[object, dict | None]:
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
