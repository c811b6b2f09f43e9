"""Training, in the seed's steps: data -> prepare -> model -> fit -> test."""

from __future__ import annotations

import concurrent.futures
import itertools
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Callable, Iterator

import keras
import numpy as np

from .augment import FLAGGED_ONES, add_flags, as_drawn_cached, augment_batch
from .config import TrainConfig
from .data import load_mnist
from .evaluate import measure
from .handwriting import real_handwriting_figures
from .model import build_model, prepare_images, prepare_labels

OnEpoch = Callable[[int, dict], None]
HANDWRITING_COPIES = 8  # canvas drawings made of each real pen digit; each epoch picks among them


@dataclass
class TrainResult:
    model: keras.Model
    config: TrainConfig
    history: dict[str, list[float]]  # metric name -> one value per epoch
    test_loss: float
    test_accuracy: float
    seconds: float  # training and test evaluation, wall clock
    source: str = "trained"  # "trained", "cache" or "shipped"
    extra: dict = field(default_factory=dict)

    @property
    def train_accuracy(self) -> float:
        """Accuracy on the training data over the last epoch, as Keras reports it."""
        return self.history["accuracy"][-1]

    def meta(self) -> dict:
        """Everything but the model, as plain JSON-able data."""
        return {
            "config": self.config.to_dict(),
            "history": self.history,
            "test_loss": self.test_loss,
            "test_accuracy": self.test_accuracy,
            "seconds": self.seconds,
            "extra": self.extra,
        }

    @classmethod
    def from_meta(cls, model: keras.Model, meta: dict, source: str) -> "TrainResult":
        return cls(
            model=model,
            config=TrainConfig.from_dict(meta["config"]),
            history={k: [float(v) for v in vs] for k, vs in meta["history"].items()},
            test_loss=float(meta["test_loss"]),
            test_accuracy=float(meta["test_accuracy"]),
            seconds=float(meta["seconds"]),
            source=source,
            extra=dict(meta.get("extra", {})),
        )


class _Progress(keras.callbacks.Callback):
    """After each epoch: measures the test set, records the logs, calls on_epoch(epoch, logs) (1-based)."""

    def __init__(self, on_epoch: OnEpoch | None, history: dict[str, list[float]], test: tuple):
        super().__init__()
        self.on_epoch, self.history, self.test = on_epoch, history, test

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: float(v) for k, v in (logs or {}).items()}
        m = measure(self.model, *self.test)
        logs["test_loss"], logs["test_accuracy"] = m["loss"], m["accuracy"]
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)
        if self.on_epoch is not None:
            self.on_epoch(epoch + 1, logs)


def epoch_images(config: TrainConfig, x: np.ndarray, y: np.ndarray, drawn: np.ndarray | None = None,
                 handwriting: tuple[np.ndarray, np.ndarray] | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Each epoch's training images and labels ((n, 28, 28) uint8, (n,)), made from the arguments:
    x, y the images every epoch starts from; drawn, the same images as the canvas would deliver them
    (config.as_drawn of them swapped in); handwriting, a pool of real pen digits drawn on the canvas
    (config.real_handwriting * len(x) of them added); then, with config.augment, some 1s flagged and
    every image freshly distorted."""
    rng = np.random.default_rng(config.seed)
    ones = np.nonzero(y == 1)[0]
    flagged = add_flags(x[ones], rng) if config.augment else None
    n_pen = round(config.real_handwriting * len(x))
    for _ in range(config.epochs):
        x_epoch, y_epoch = x.copy(), y
        if config.as_drawn:  # a random share of the MNIST images, as the canvas would give them
            swap = np.nonzero(rng.random(len(drawn)) < config.as_drawn)[0]
            x_epoch[swap] = drawn[swap]
        if config.augment:  # some 1s with a flag
            pick = rng.random(len(ones)) < FLAGGED_ONES
            x_epoch[ones[pick]] = flagged[pick]
        if n_pen:  # real handwriting, each digit in one of its canvas drawings
            pick = rng.integers(len(handwriting[1]), size=n_pen)
            x_epoch = np.concatenate([x_epoch, handwriting[0][pick]])
            y_epoch = np.concatenate([y_epoch, handwriting[1][pick]])
        if config.augment:  # a fresh random distortion of every image
            x_epoch = augment_batch(x_epoch, rng)
        yield x_epoch, y_epoch


_resident: dict[int, tuple] = {}  # id of a read-only array -> (weak reference to it, its tensors)


def _as_tensors(x: np.ndarray, y: np.ndarray) -> tuple:
    """x (n, 28, 28) uint8 and y (n,) as TensorFlow tensors. A read-only array (the shared MNIST of
    load_mnist) becomes one tensor per process, whoever trains on it."""
    import tensorflow as tf
    ref, tensors = _resident.get(id(x), (None, None))
    if ref is None or ref() is not x or x.flags.writeable:
        tensors = (tf.convert_to_tensor(x), tf.convert_to_tensor(y.astype(np.int32)))
        if not x.flags.writeable:
            _resident[id(x)] = (weakref.ref(x, lambda _, key=id(x): _resident.pop(key, None)), tensors)
    return tensors


def _batches(tensors: tuple, batch_size: int, rng: np.random.Generator):
    """One epoch of (x, y) tensors as a tf.data.Dataset of batches in a random order, prepared as the
    model reads them ((b, 784) float32 in [0, 1], (b, 10) one-hot).

    The images stay uint8 (a quarter of float32's memory) and are converted a batch at a time.
    Every batch is full (the last one topped up with images drawn at random from the epoch): one
    shape, compiled once."""
    import tensorflow as tf
    xs, ys = tensors
    n = int(ys.shape[0])
    order = np.concatenate([rng.permutation(n), rng.integers(n, size=-n % batch_size)])
    return (tf.data.Dataset.from_tensor_slices(order).batch(batch_size)
            .map(lambda i: (prepare_images(tf.gather(xs, i), keras.ops), tf.one_hot(tf.gather(ys, i), 10)))
            .prefetch(2))


def _ahead(items: Iterator) -> Iterator:
    """items, each made in a background thread while the caller works on the one before."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        future = pool.submit(next, items, None)
        while (item := future.result()) is not None:
            future = pool.submit(next, items, None)
            yield item


# Compiled models at rest, by what their compiled training step depends on. A training takes one of
# its shape if there is one: tracing and compiling a new model costs ~1.5 s, and leaves ~15 MB inside
# TensorFlow for good (its traced graphs stay registered after the model is gone), so a class's
# trainings would grow the server's memory without end.
_resting: dict[tuple, list[keras.Model]] = {}
_resting_guard = threading.Lock()
RESTING_MODELS = 4  # kept at most, the least recently used dropped first


def _pool_key(config: TrainConfig, steps_per_epoch: int) -> tuple | None:
    """None for a config whose model draws random numbers while it trains (dropout): a reused model's
    draws would not be the ones a new model makes, and the same settings must give the same model."""
    return None if config.dropout else (config.deskew, config.batch_size, steps_per_epoch)


def _take_compiled(config: TrainConfig, steps_per_epoch: int) -> tuple[keras.Model, keras.Model]:
    """(model, trainer). model: what build_model(config, steps_per_epoch) makes under config.seed, the
    result, with its initial weights. trainer: the model that trains from those weights, a compiled
    one at rest of its shape if there is one (its optimizer reset), else a new one; model itself when
    the shape is never kept (see _pool_key)."""
    model = build_model(config, steps_per_epoch)  # compiling costs nothing until it trains
    key = _pool_key(config, steps_per_epoch)
    if key is None:
        return model, model
    with _resting_guard:
        models = _resting.get(key, [])
        trainer = models.pop() if models else None
    if trainer is None:
        trainer = build_model(config, steps_per_epoch)
    trainer.set_weights(model.get_weights())
    for v in trainer.optimizer.variables:  # the step count and RMSprop's running averages; not the rate
        if v is not trainer.optimizer.learning_rate:
            v.assign(np.zeros(v.shape, v.dtype))
    return model, trainer


def _give_back(key: tuple, trainer: keras.Model) -> None:
    """Keep trainer at rest for the next training of its shape, the least recently used dropped first."""
    with _resting_guard:
        _resting[key] = _resting.pop(key, []) + [trainer]  # most recently used last
        while sum(map(len, _resting.values())) > RESTING_MODELS:
            oldest = next(iter(_resting))
            _resting[oldest].pop(0)
            if not _resting[oldest]:
                del _resting[oldest]


def _with_user_drawings(config: TrainConfig, x: np.ndarray, y: np.ndarray, drawings):
    """Append the user's saved drawings, repeated so that they make up about 2% of an epoch."""
    from .user_drawings import Drawings
    dx, dy = (drawings if drawings is not None else Drawings()).for_training(config.user_drawings)
    repeat = int(np.clip(round(0.02 * len(x) / len(dy)), 1, 50))
    mixed = {"count": int(len(dy)), "repeated": repeat}
    return np.concatenate([x, np.tile(dx, (repeat, 1, 1))]), np.concatenate([y, np.tile(dy, repeat)]), mixed


def _pen_pool(pen) -> tuple[np.ndarray, np.ndarray]:
    """Canvas drawings of the training writers' pen digits (held-out writers never train)."""
    from .handwriting import as_drawn_digits_cached, shipped_split
    return as_drawn_digits_cached(pen if pen is not None else shipped_split()[0], HANDWRITING_COPIES)


def train(config: TrainConfig = TrainConfig(), on_epoch: OnEpoch | None = None, data=None,
          drawings=None, pen=None) -> TrainResult:
    """Train the network for config and measure it on the test set.

    data defaults to load_mnist(); drawings (a user_drawings.Drawings) to the user's database, read
    only if config.user_drawings; pen (handwriting.PenDigits) to the training writers' digits, read
    only if config.real_handwriting. After every epoch the model is measured on the test set
    (history's test_loss and test_accuracy: watched, never used to steer training), so overfitting
    shows as it grows; the last epoch's figures are the result's."""
    start = time.perf_counter()
    keras.utils.set_random_seed(config.seed)
    # Data: MNIST, less the validation share; the user's drawings if asked for.
    (x_train, y_train), (x_test, y_test) = data if data is not None else load_mnist()
    n_fit = len(x_train) - int(len(x_train) * config.validation_split)
    x, y = (x_train, y_train) if n_fit == len(x_train) else (x_train[:n_fit], y_train[:n_fit])
    extra = {}
    if config.user_drawings:
        x, y, extra["user_drawings"] = _with_user_drawings(config, x, y, drawings)
    # Prepare: the test and validation sets once; what changes per epoch, in epoch_images.
    test = (prepare_images(x_test), y_test)
    validation = (prepare_images(x_train[n_fit:]), prepare_labels(y_train[n_fit:])) if n_fit < len(x_train) else None
    history: dict[str, list[float]] = {}
    fit = dict(validation_data=validation, validation_batch_size=1024, verbose=0, shuffle=False,
               callbacks=[_Progress(on_epoch, history, test)])
    if config.new_images_each_epoch:
        drawn = as_drawn_cached(x_train[:n_fit]) if config.as_drawn else None
        pool = _pen_pool(pen) if config.real_handwriting else None
        # The next epoch's images are made while this one trains.
        epochs = (_as_tensors(*e) for e in _ahead(epoch_images(config, x, y, drawn, pool)))
    else:  # the same images every epoch
        epochs = itertools.repeat(_as_tensors(x, y), config.epochs)
    order = np.random.default_rng([config.seed, 1])  # the batches' order, apart from epoch_images' draws
    model = trainer = None
    for epoch, tensors in enumerate(epochs):
        if model is None:  # one compiled call runs an epoch, so the model needs the epoch's size
            steps = -(-int(tensors[1].shape[0]) // config.batch_size)
            model, trainer = _take_compiled(config, steps)
        trainer.fit(_batches(tensors, config.batch_size, order), initial_epoch=epoch, epochs=epoch + 1, **fit)
    if trainer is not model:  # the result keeps the weights; the compiled trainer rests for the next one
        model.set_weights(trainer.get_weights())
        _give_back(_pool_key(config, steps), trainer)
    # Test: the last epoch's figures (measured by _Progress after every epoch), and real handwriting
    # by writers that never trained.
    seconds = time.perf_counter() - start
    extra["real_handwriting"] = real_handwriting_figures(model)
    return TrainResult(model, config, history, history["test_loss"][-1], history["test_accuracy"][-1], seconds,
                       extra=extra)
