import os
import tempfile

# Tests never touch the user's cache: one fresh cache folder for the whole run (set before import).
os.environ["MNIST_DRAW_CACHE_DIR"] = tempfile.mkdtemp(prefix="mnist-draw-test-cache-")
os.environ["MNIST_DRAW_DB"] = os.path.join(tempfile.mkdtemp(prefix="mnist-draw-test-db-"), "drawings.sqlite")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

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
