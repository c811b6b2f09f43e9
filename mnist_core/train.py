"""Training, in the seed's steps: data -> prepare -> model -> fit -> test."""

from __future__ import annotations

import concurrent.futures
import itertools
import threading
import time
from typing import Callable, Iterator

import keras
import numpy as np

from .augment import FLAGGED_ONES, STRUCK_ZEROS, add_flags, as_drawn_cached, augment_batch, strike_zeros
from .config import TrainConfig
from .data import as_tensor, load_mnist, tensor_of
from .evaluate import measure
from .handwriting import real_handwriting_figures
from .model import build_model, forget
from .network import TrainResult, prepare_images

OnEpoch = Callable[[int, dict], None]
LEARNING_RATE = 0.001  # RMSprop's default, as the notebook's compile(optimizer="rmsprop") has it


def epoch_images(config: TrainConfig, x: np.ndarray, y: np.ndarray, drawn: np.ndarray | None = None,
                 handwriting: tuple[np.ndarray, np.ndarray] | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Each epoch's training images and labels ((n, 28, 28) uint8, (n,)), made from the arguments:
    x, y the images every epoch starts from; drawn, the same images as the canvas would deliver them
    (config.as_drawn of them swapped in); handwriting, a pool of real pen digits drawn on the canvas
    (config.real_handwriting * len(x) of them added); then, with config.augment, some 1s flagged, some
    0s struck through and every image freshly distorted."""
    rng = np.random.default_rng(config.seed)
    ones = np.nonzero(y == 1)[0]
    flagged = add_flags(x[ones], rng) if config.augment else None
    zeros = np.nonzero(y == 0)[0]
    struck = strike_zeros(x[zeros], rng) if config.augment else None
    n_pen = round(config.real_handwriting * len(x))
    for _ in range(config.epochs):
        x_epoch, y_epoch = x.copy(), y
        if config.as_drawn:  # a random share of the MNIST images, as the canvas would give them
            swap = np.nonzero(rng.random(len(drawn)) < config.as_drawn)[0]
            x_epoch[swap] = drawn[swap]
        if config.augment:  # some 1s with a flag, some 0s struck through (Ø, φ, θ)
            pick = rng.random(len(ones)) < FLAGGED_ONES
            x_epoch[ones[pick]] = flagged[pick]
            pick = rng.random(len(zeros)) < STRUCK_ZEROS
            x_epoch[zeros[pick]] = struck[pick]
        if n_pen:  # real handwriting, each digit in one of its canvas drawings
            pick = rng.integers(len(handwriting[1]), size=n_pen)
            x_epoch = np.concatenate([x_epoch, handwriting[0][pick]])
            y_epoch = np.concatenate([y_epoch, handwriting[1][pick]])
        if config.augment:  # a fresh random distortion of every image (x_epoch is this epoch's own copy)
            x_epoch = augment_batch(x_epoch, rng, in_place=True)
        yield x_epoch, y_epoch


def _as_tensors(x: np.ndarray, y: np.ndarray) -> tuple:
    """x (n, 28, 28) uint8 and y (n,) as TensorFlow tensors; the shared MNIST's images are one already."""
    xs = tensor_of(x)
    return (as_tensor(x) if xs is None else xs), as_tensor(y.astype(np.int32))


def _tensors_of(epochs: Iterator[tuple[np.ndarray, np.ndarray]]) -> Iterator[tuple]:
    """Each epoch's images and labels as tensors, the numpy arrays let go before the epoch trains (a
    generator expression would keep the last one alive while it waits: 47 MB for MNIST's images)."""
    for x, y in epochs:
        tensors = _as_tensors(x, y)
        del x, y
        yield tensors


def _order(n: int, batch_size: int, rng: np.random.Generator) -> np.ndarray:
    """(steps, batch_size) int32: an epoch's batches, as indices into its n images in a random order.
    Every batch is full (the last one topped up with images drawn at random): one shape, compiled once."""
    order = np.concatenate([rng.permutation(n), rng.integers(n, size=-n % batch_size)])
    return order.reshape(-1, batch_size).astype(np.int32)


class _Trainer:
    """A compiled copy of the network that trains a whole epoch in one call into TensorFlow: a loop over
    the epoch's batches inside one function, compiled by XLA (but with dropout: XLA makes its random
    numbers slowly on CPU). Each step is the network's forward pass, its compiled loss and RMSprop.
    Keras's fit makes one call per batch, and those calls cost more than this small network's maths
    (epochs took 1.3-2.6 s against 0.9-1.0). Its train_step would update Keras's metric objects too,
    and compiling those into the loop peaked 10-20 MiB higher: the epoch's mean loss and accuracy
    are counted here."""

    def __init__(self, config: TrainConfig):
        import tensorflow as tf
        self.model = build_model(config)
        self.model.optimizer.build(self.model.trainable_variables)  # its variables, made outside the loop
        self._epoch = tf.function(self._run, jit_compile=not config.dropout)

    def _run(self, images, labels, order):
        """images (n, 28, 28) uint8, labels (n,) int32, order (steps, batch) int32 -> the epoch's mean
        loss and accuracy, as Keras reports them (all batches are full)."""
        import tensorflow as tf
        model, loss_of = self.model, keras.losses.get(self.model.loss)
        steps, batch = order.shape

        def step(i, loss_sum, right):
            x, y = prepare_images(tf.gather(images, order[i]), keras.ops), tf.gather(labels, order[i])
            targets = self._targets(x, y, order[i])  # outside the tape: nothing to learn in how they are made
            with tf.GradientTape() as tape:
                p = model(x, training=True)
                loss = tf.reduce_mean(loss_of(targets, p))
            model.optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables),
                                                model.trainable_variables))
            right += tf.reduce_sum(tf.cast(tf.argmax(p, axis=1, output_type=tf.int32) == y, tf.int32))
            return i + 1, loss_sum + loss, right
        _, loss_sum, right = tf.while_loop(lambda i, *_: i < steps, step, (0, 0.0, 0), parallel_iterations=1)
        return {"loss": loss_sum / steps, "accuracy": tf.cast(right, tf.float32) / (steps * batch)}

    def _targets(self, x, y, rows):
        """(batch, 10) what the network learns to answer for a batch: x its prepared images, y their labels,
        rows their places in the epoch's images. Here their labels, one-hot."""
        import tensorflow as tf
        return tf.one_hot(y, 10)

    def start(self, weights: list, learning_rate: float = LEARNING_RATE) -> None:
        """Train from weights at learning_rate, with RMSprop's state zeroed (its step count and running averages)."""
        self.model.set_weights(weights)
        forget(self.model)
        optimizer = self.model.optimizer
        for v in optimizer.variables:
            if v is not optimizer.learning_rate:
                v.assign(np.zeros(v.shape, v.dtype))
        optimizer.learning_rate.assign(learning_rate)

    def epoch(self, tensors: tuple, order: np.ndarray) -> dict:
        """One epoch over tensors (images, labels) in order -> {"loss", "accuracy"}."""
        return {k: float(v) for k, v in self._epoch(*tensors, order).items()}


class _Adapter(_Trainer):
    """A trainer whose targets for the rows after the first `ours` of each epoch are the answers of the
    model it started from (a frozen copy, the teacher: see adapt), for the first `ours` their labels."""

    def __init__(self, config: TrainConfig):
        import tensorflow as tf
        super().__init__(config)
        self.teacher = build_model(config)
        self.ours = tf.Variable(0, dtype=tf.int32, trainable=False)

    def begin(self, weights: list, learning_rate: float, ours: int) -> None:
        self.start(weights, learning_rate)
        self.teacher.set_weights(weights)
        self.ours.assign(ours)

    def _targets(self, x, y, rows):
        # Batch by batch: the teacher's answers for all of an adaptation's 15,360 images at once were
        # ~100 MB of activations at a time, and a worker's peak went from ~720 MiB (a training) to ~860-900.
        import tensorflow as tf
        own = rows < self.ours  # (batch,)
        before = self.teacher(x, training=False)  # (batch, 10)
        return tf.where(own[:, None], tf.one_hot(y, 10), before)


# Trainers at rest, by what their compiled epoch depends on. A training takes one of its shape if there
# is one: tracing and compiling a new one costs ~1.5 s, and leaves ~15 MB inside TensorFlow for good
# (its traced graphs stay registered after it is gone), so a class's trainings would grow the server's
# memory without end.
_resting: dict[tuple, list[_Trainer]] = {}
_resting_guard = threading.Lock()
RESTING_TRAINERS = 4  # kept at most, the least recently used dropped first


def _pool_key(config: TrainConfig, steps_per_epoch: int) -> tuple | None:
    """None for a config whose model draws random numbers while it trains (dropout): a reused model's
    draws would not be the ones a new model makes, and the same settings must give the same model."""
    return None if config.dropout else (config.deskew, config.batch_size, steps_per_epoch)


def _take_trainer(config: TrainConfig, key: tuple | None, kind: type = _Trainer) -> _Trainer:
    """A resting trainer of key (made by kind, which key must name if not _Trainer), or a new kind(config)."""
    with _resting_guard:
        trainers = _resting.get(key, []) if key is not None else []
        if trainers:
            return trainers.pop()
    return kind(config)


def _give_back(key: tuple, trainer: _Trainer) -> None:
    """Keep trainer at rest for the next training of its shape, the least recently used dropped first."""
    with _resting_guard:
        _resting[key] = _resting.pop(key, []) + [trainer]  # most recently used last
        while sum(map(len, _resting.values())) > RESTING_TRAINERS:
            oldest = next(iter(_resting))
            _resting[oldest].pop(0)
            if not _resting[oldest]:
                del _resting[oldest]


def _ahead(items: Iterator) -> Iterator:
    """items, each made in a background thread while the caller works on the one before."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        future = pool.submit(next, items, None)
        while (done := [future.result()])[0] is not None:
            future = pool.submit(next, items, None)
            yield done.pop()  # not kept here while the caller works on it


def _with_user_drawings(config: TrainConfig, x: np.ndarray, y: np.ndarray, drawings):
    """Append the user's saved drawings, repeated so that they make up about 2% of an epoch."""
    from .user_drawings import Drawings
    dx, dy = (drawings if drawings is not None else Drawings()).for_training(config.user_drawings)
    repeat = int(np.clip(round(0.02 * len(x) / len(dy)), 1, 50))
    mixed = {"count": int(len(dy)), "repeated": repeat}
    return np.concatenate([x, np.tile(dx, (repeat, 1, 1))]), np.concatenate([y, np.tile(dy, repeat)]), mixed


def _pen_pool(config: TrainConfig, pen) -> tuple[np.ndarray, np.ndarray]:
    """Canvas drawings of the training writers' pen digits, and the validation writers' if the config
    says so (test writers never train)."""
    from .handwriting import HANDWRITING_COPIES, as_drawn_digits_cached, shipped_split
    if pen is None:
        split = shipped_split()
        pen = split.train.joined(split.validation) if config.with_validation_writers else split.train
    return as_drawn_digits_cached(pen, HANDWRITING_COPIES)


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
    # The test and validation sets stay uint8 (measure reads them a chunk at a time); what changes per
    # epoch comes from epoch_images.
    test = (x_test, y_test)
    validation = (x_train[n_fit:], y_train[n_fit:]) if n_fit < len(x_train) else None
    if config.new_images_each_epoch:
        drawn = as_drawn_cached(x_train[:n_fit]) if config.as_drawn else None
        pool = _pen_pool(config, pen) if config.real_handwriting else None
        # The next epoch's images are made while this one trains.
        epochs = _tensors_of(_ahead(epoch_images(config, x, y, drawn, pool)))
    else:  # the same images every epoch
        epochs = itertools.repeat(_as_tensors(x, y), config.epochs)
    rng = np.random.default_rng([config.seed, 1])  # the batches' order, apart from epoch_images' draws
    model = build_model(config)  # the result, with the seed's initial weights
    history: dict[str, list[float]] = {}
    trainer = key = None
    try:
        for epoch, tensors in enumerate(epochs, 1):
            order = _order(int(tensors[1].shape[0]), config.batch_size, rng)
            if trainer is None:
                key = _pool_key(config, len(order))
                trainer = _take_trainer(config, key)
                trainer.start(model.get_weights())
            logs = trainer.epoch(tensors, order)
            # Measured after every epoch, watched and never used to steer training, so overfitting shows as it grows.
            for name, data in (("val_", validation), ("test_", test)):
                if data is not None:
                    m = measure(trainer.model, *data)
                    logs[name + "loss"], logs[name + "accuracy"] = m["loss"], m["accuracy"]
            for k, v in logs.items():
                history.setdefault(k, []).append(v)
            if on_epoch is not None:
                on_epoch(epoch, logs)  # may raise to cancel the training
        model.set_weights(trainer.model.get_weights())
    finally:  # at rest for the next training of its shape, however this one ended (start() resets it)
        if key is not None:
            _give_back(key, trainer)
    # Test: the last epoch's figures, and real handwriting by writers that never trained.
    seconds = time.perf_counter() - start
    extra["real_handwriting"] = real_handwriting_figures(model)
    forget(model)  # predict's numpy copy of the weights: made again by the first drawing it reads, if any
    return TrainResult(model, config, history, history["test_loss"][-1], history["test_accuracy"][-1], seconds,
                       extra=extra)
