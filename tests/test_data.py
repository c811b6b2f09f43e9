import gzip
import shutil

import numpy as np
import pytest

from mnist_core import DataError, load_mnist
from mnist_core.paths import MNIST_DIR


def test_shapes_and_dtypes_match_keras(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert x_train.shape == (60000, 28, 28) and y_train.shape == (60000,)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}


def test_published_facts_of_mnist(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert np.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert x_train.mean() / 255 == pytest.approx(0.1307, abs=1e-4)
    assert x_test.std() / 255 == pytest.approx(0.3105, abs=1e-4)


def test_second_load_comes_from_the_decoded_cache(mnist, monkeypatch):
    from mnist_core import data

    def not_again(_):
        raise AssertionError("the IDX files were decoded again")

    monkeypatch.setattr(data, "_read_verified", not_again)
    (x_train, _), _ = load_mnist()
    assert np.array_equal(x_train, mnist[0][0])


def _corrupt(folder, name, how):
    path = folder / f"{name}.gz"
    raw = gzip.decompress(path.read_bytes())
    if how == "missing":
        path.unlink()
        return
    if how == "truncated":
        raw = raw[: len(raw) // 2]
    elif how == "flipped byte":
        raw = raw[:-1] + bytes([raw[-1] ^ 0xFF])
    elif how == "wrong magic":
        raw = b"\x00\x00\x08\x01" + raw[4:]
    elif how == "not gzip":
        path.write_bytes(raw[:100])
        return
    elif how == "cut gzip":
        path.write_bytes(path.read_bytes()[:5000])
        return
    path.write_bytes(gzip.compress(raw))


@pytest.mark.parametrize("name, how, message", [
    ("t10k-labels-idx1-ubyte", "missing", "missing"),
    ("t10k-labels-idx1-ubyte", "truncated", "truncated"),
    ("t10k-labels-idx1-ubyte", "flipped byte", "SHA-256"),  # same size, wrong content
    ("t10k-images-idx3-ubyte", "wrong magic", "magic"),
    ("t10k-labels-idx1-ubyte", "not gzip", "gzip"),
    ("t10k-images-idx3-ubyte", "cut gzip", "gzip"),  # a download cut short
])
def test_bad_data_file_raises_naming_the_file(tmp_path, name, how, message):
    folder = tmp_path / "mnist"
    shutil.copytree(MNIST_DIR, folder)
    _corrupt(folder, name, how)
    with pytest.raises(DataError) as e:
        load_mnist(folder)
    assert name in str(e.value) and message in str(e.value)


SHARED = """
import sys
import numpy as np
if sys.argv[1] == "trains":
    import mnist_core.train  # noqa: F401  (a worker: TensorFlow is imported before the data)
from mnist_core.data import load_mnist, tensor_of
(x, _), _ = load_mnist()
tensor = tensor_of(x)
print(tensor is not None and np.shares_memory(x, np.asarray(tensor)), not x.flags.writeable,
      tensor_of(x.copy()) is None and tensor_of(x[:10]) is None, isinstance(x, np.memmap), "tensorflow" in sys.modules)
"""


@pytest.mark.slow
@pytest.mark.parametrize("process", ["trains", "serves the page"])
def test_the_shared_training_images_are_one_read_only_copy(process):
    """In a process that trains, every training reads its one copy of MNIST's training images, as numpy
    and as a TensorFlow tensor: the same memory, read-only. In the page's process (no TensorFlow) they
    are mapped from the decoded cache, read-only: only the pages read take memory."""
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", SHARED, process], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    one_tensor, read_only, copies_apart, mapped, tensorflow = out.stdout.split()[-5:]
    assert read_only == copies_apart == "True"
    if process == "trains":
        assert one_tensor == tensorflow == "True" and mapped == "False"
    else:
        assert one_tensor == tensorflow == "False" and mapped == "True"
