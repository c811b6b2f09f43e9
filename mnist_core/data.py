"""MNIST from the IDX files shipped in assets/mnist: verified, decoded with numpy, cached, and held
once per process in memory that numpy and TensorFlow share."""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import sys
import weakref
from pathlib import Path

import numpy as np

from .paths import MNIST_DIR, atomic_write_bytes, cache_dir

FILES = {
    "x_train": ("train-images-idx3-ubyte", 0x803, 60000),
    "y_train": ("train-labels-idx1-ubyte", 0x801, 60000),
    "x_test": ("t10k-images-idx3-ubyte", 0x803, 10000),
    "y_test": ("t10k-labels-idx1-ubyte", 0x801, 10000),
}
SUMS_FILE = "SHA256SUMS.decompressed"


class DataError(ValueError):
    """A dataset file is missing, truncated or corrupt; the message names the file."""


def _expected_sums(data_dir: Path) -> dict[str, str]:
    sums_path = data_dir / SUMS_FILE
    try:
        lines = sums_path.read_text().splitlines()
    except OSError as e:
        raise DataError(f"{sums_path}: cannot read the checksum list ({e.strerror})") from None
    return {name: digest for digest, name in (line.split() for line in lines if line.strip())}


def check_sha256(path: Path, raw: bytes, name: str, sums: dict[str, str], sums_path: Path, of: str = "") -> None:
    """Raise a DataError naming the file unless sha256(raw) is the sum listed for name."""
    digest = hashlib.sha256(raw).hexdigest()
    if name not in sums:
        raise DataError(f"{sums_path}: has no checksum for {name}")
    if digest != sums[name]:
        raise DataError(f"{path}: SHA-256{of} is {digest}, expected {sums[name]}: corrupt or truncated")


def _decode_idx(path: Path, raw: bytes, magic: int, count: int) -> np.ndarray:
    """Check an IDX header and return its payload: (count, 28, 28) images or (count,) labels."""
    header = 16 if magic == 0x803 else 8
    if len(raw) < header:
        raise DataError(f"{path}: truncated: {len(raw)} bytes, shorter than the IDX header")
    found = int.from_bytes(raw[0:4], "big")
    if found != magic:
        raise DataError(f"{path}: not an IDX file of this kind: magic {found:#010x}, expected {magic:#010x}")
    n = int.from_bytes(raw[4:8], "big")
    if n != count:
        raise DataError(f"{path}: holds {n} items, expected {count}")
    shape: tuple[int, ...] = (count,)
    if magic == 0x803:
        rows, cols = int.from_bytes(raw[8:12], "big"), int.from_bytes(raw[12:16], "big")
        if (rows, cols) != (28, 28):
            raise DataError(f"{path}: images are {rows}x{cols}, expected 28x28")
        shape = (count, 28, 28)
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise DataError(f"{path}: truncated or padded: {len(raw)} bytes, expected {expected}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()


def _read_verified(data_dir: Path) -> dict[str, np.ndarray]:
    sums = _expected_sums(data_dir)
    arrays = {}
    for key, (name, magic, count) in FILES.items():
        path = data_dir / f"{name}.gz"
        try:
            raw = gzip.decompress(path.read_bytes())
        except FileNotFoundError:
            raise DataError(f"{path}: missing (the MNIST files belong in {data_dir})") from None
        except (OSError, EOFError, gzip.BadGzipFile) as e:
            raise DataError(f"{path}: not a readable gzip file, truncated or corrupt ({e})") from None
        arrays[key] = _decode_idx(path, raw, magic, count)
        check_sha256(path, raw, name, sums, data_dir / SUMS_FILE, " of the decompressed data")
    return arrays


def _cache_path(data_dir: Path) -> Path:
    """Keyed by the expected checksums and the files' sizes and times, so any change re-verifies."""
    h = hashlib.sha256((data_dir / SUMS_FILE).read_bytes())
    for name, _, _ in FILES.values():
        st = (data_dir / f"{name}.gz").stat()
        h.update(f"{name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return cache_dir() / "mnist" / f"mnist-{h.hexdigest()[:20]}"  # + "-<array>.npy", one file per array


def load_mnist(data_dir: str | Path | None = None):
    """((x_train, y_train), (x_test, y_test)) as uint8, shaped like keras.datasets.mnist.load_data().

    The first call verifies every header and SHA-256, then caches the decoded arrays on disk;
    later calls (in any process) read that cache unless a source file changed. Within a process,
    every caller (each training, each page) shares one read-only copy.
    """
    data_dir = Path(data_dir) if data_dir is not None else MNIST_DIR
    try:
        return _shared(data_dir.resolve(), _cache_path(data_dir))
    except OSError:
        return _load(data_dir)  # a file is missing: _load names it


@functools.lru_cache(maxsize=2)
def _shared(data_dir: Path, cached: Path):
    """One read-only copy per folder and file state (the cache path changes with the files)."""
    (x_train, y_train), (x_test, y_test) = _load(data_dir)
    # In a process that trains (TensorFlow already imported), the training images live in a tensor.
    shared = _in_tensorflow if "tensorflow" in sys.modules else _read_only
    return (shared(x_train), _read_only(y_train)), (_read_only(x_test), _read_only(y_test))


def _read_only(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


_tensors: dict[int, tuple] = {}  # id of a shared array -> (a weak reference to it, the tensor holding its bytes)


def as_tensor(a: np.ndarray):
    """a as a TensorFlow tensor, in one copy: TensorFlow 2.21 holds two copies' worth of memory for good
    when it converts a 3-D uint8 array (+90 MiB for MNIST's training images), one for the same bytes
    converted flat and reshaped (+45). (Lending the bytes through DLPack, no copy, crashed TensorFlow's
    kernels outside XLA: numpy's buffers are not aligned as they require.)"""
    import tensorflow as tf
    return tf.reshape(tf.convert_to_tensor(np.ascontiguousarray(a).reshape(-1)), a.shape)


def _in_tensorflow(a: np.ndarray) -> np.ndarray:
    """a's bytes in a TensorFlow tensor, as a read-only numpy view of it: every training reads the
    tensor itself (tensor_of) rather than a copy of its own (47 MB for the training images)."""
    tensor = as_tensor(a)
    view = np.asarray(tensor)  # no copy: numpy reads the tensor's buffer and keeps the tensor alive
    _tensors[id(view)] = (weakref.ref(view, lambda _, key=id(view): _tensors.pop(key, None)), tensor)
    return view


def tensor_of(a: np.ndarray):
    """The TensorFlow tensor whose bytes a shared array views, or None."""
    ref, tensor = _tensors.get(id(a), (None, None))
    return tensor if ref is not None and ref() is a else None


def _load(data_dir: Path):
    try:
        cached = _cache_path(data_dir)
    except OSError:
        cached = None  # a file is missing: _read_verified names it below
    files = {k: Path(f"{cached}-{k}.npy") for k in FILES} if cached is not None else {}
    mapped = _mapped(files)
    if mapped is not None:
        return mapped
    a = _read_verified(data_dir)
    for k, f in files.items():
        buf = io.BytesIO()
        np.save(buf, a[k])
        try:
            atomic_write_bytes(f, buf.getvalue())
        except OSError:
            pass  # a read-only cache only costs speed
    # Mapped from the files just written, so that the decoded copies go (the page keeps 53 MiB less).
    return _mapped(files) or ((a["x_train"], a["y_train"]), (a["x_test"], a["y_test"]))


def _mapped(files: dict[str, Path]):
    """The decoded arrays, memory-mapped from the cache's .npy files (a process touches only the pages it
    reads: the page, a few digits); None if they are missing or unsound."""
    if not files or not all(f.exists() for f in files.values()):
        return None
    try:
        a = {k: np.load(f, mmap_mode="r") for k, f in files.items()}
    except Exception:  # unreadable cache entry: decode the sources again
        return None
    if not all(a[k].shape[0] == FILES[k][2] and a[k].dtype == np.uint8 for k in FILES):
        return None
    return (a["x_train"], a["y_train"]), (a["x_test"], a["y_test"])
