import os
import tempfile

# Tests never touch the user's cache: one fresh cache folder for the whole run (set before import).
os.environ["MNIST_DRAW_CACHE_DIR"] = tempfile.mkdtemp(prefix="mnist-draw-test-cache-")
os.environ["MNIST_DRAW_DB"] = os.path.join(tempfile.mkdtemp(prefix="mnist-draw-test-db-"), "drawings.sqlite")

import pytest  # noqa: E402

from mnist_core import TrainConfig, load_mnist, train  # noqa: E402


@pytest.fixture(scope="session")
def mnist():
    return load_mnist()


@pytest.fixture(scope="session")
def one_epoch(mnist):
    """A real one-epoch training run of the reference network, shared by the tests that need a model."""
    calls = []
    result = train(TrainConfig(epochs=1), on_epoch=lambda e, logs: calls.append((e, logs)), data=mnist)
    return result, calls


@pytest.fixture
def small_training(monkeypatch, mnist):
    """For tests of the cache's logic, where the network's quality proves nothing: every training
    through load_or_train is real Keras, on 2,000 MNIST images (tested on 1,000)."""
    from mnist_core import cache
    from mnist_core.train import train as real_train
    (x, y), (x_test, y_test) = mnist
    small = ((x[:2000], y[:2000]), (x_test[:1000], y_test[:1000]))
    monkeypatch.setattr(cache, "train", lambda config, on_epoch=None: real_train(config, on_epoch, data=small))


@pytest.fixture(scope="session")
def data_cache():
    """The session cache's prepared data (decoded MNIST, the held-out writers' drawings), made once:
    copy it into an app server's fresh cache so that each server does not make it again."""
    import shutil
    from pathlib import Path

    from mnist_core.handwriting import held_out_set
    held_out_set()
    folder = Path(os.environ["MNIST_DRAW_CACHE_DIR"]) / "mnist"

    def into(cache_dir):
        shutil.copytree(folder, Path(cache_dir) / "mnist")
        return cache_dir
    return into
