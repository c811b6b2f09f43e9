"""Training: data -> prepared arrays -> the reference network -> fit -> test evaluation."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import keras
import numpy as np

from .augment import FLAGGED_ONES, add_flags, as_drawn_cached, augment_batch
from .config import TrainConfig
from .data import load_mnist
from .model import build_model, prepare_images, prepare_labels
from .predict import predict_proba

OnEpoch = Callable[[int, dict], None]


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


def test_metrics(model: keras.Model, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Categorical cross-entropy and accuracy of model on (n, 784) images and (n,) labels.

    The same figures as model.evaluate, computed through predict_proba's numpy forward pass:
    ~0.05 s for the test set against ~0.2 s and a compiled test function for Keras's.
    """
    probs = predict_proba(model, x)  # (n, 10)
    loss = float(-np.log(np.clip(probs[np.arange(len(y)), y], 1e-7, 1.0)).mean())  # Keras clips alike
    return loss, float((probs.argmax(axis=1) == y).mean())


class _Progress(keras.callbacks.Callback):
    """After each epoch: measures the test set, records the logs, calls on_epoch(epoch, logs) (1-based)."""

    def __init__(self, on_epoch: OnEpoch | None, history: dict[str, list[float]], test: tuple):
        super().__init__()
        self.on_epoch, self.history, self.test = on_epoch, history, test

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: float(v) for k, v in (logs or {}).items()}
        logs["test_loss"], logs["test_accuracy"] = test_metrics(self.model, *self.test)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)
        if self.on_epoch is not None:
            self.on_epoch(epoch + 1, logs)


def _mix_in_drawings(config: TrainConfig, x: np.ndarray, y: np.ndarray, drawings):
    """Append the user's saved drawings, repeated so that they make up about 2% of an epoch."""
    from .drawings import Drawings
    store = drawings if drawings is not None else Drawings()
    if store.fingerprint() != config.user_drawings:
        raise ValueError("user_drawings does not match the saved drawings (they changed since this "
                         "setting was chosen); choose it again")
    _, dx, dy = store.arrays()
    repeat = int(np.clip(round(0.02 * len(x) / len(dy)), 1, 50))
    mixed = {"count": int(len(dy)), "repeated": repeat}
    return np.concatenate([x, np.tile(dx, (repeat, 1, 1))]), np.concatenate([y, np.tile(dy, repeat)]), mixed


def train(config: TrainConfig = TrainConfig(), on_epoch: OnEpoch | None = None, data=None,
          drawings=None) -> TrainResult:
    """Train the network for config; data defaults to load_mnist(), drawings to the user's database.

    After every epoch the model is also measured on the test set (history's test_loss and
    test_accuracy: watched, never used to steer training), so overfitting shows as it grows;
    the last epoch's figures are the result's test_loss and test_accuracy.
    """
    start = time.perf_counter()
    keras.utils.set_random_seed(config.seed)
    (x_train, y_train), (x_test, y_test) = data if data is not None else load_mnist()
    n_val = int(len(x_train) * config.validation_split)
    n_fit = len(x_train) - n_val
    x_fit_raw, y_fit_raw = x_train[:n_fit], y_train[:n_fit]
    extra = {}
    if config.user_drawings:
        x_fit_raw, y_fit_raw, extra["user_drawings"] = _mix_in_drawings(config, x_fit_raw, y_fit_raw, drawings)
    y_fit = prepare_labels(y_fit_raw)
    history: dict[str, list[float]] = {}
    progress = _Progress(on_epoch, history, (prepare_images(x_test), y_test))
    validation = (prepare_images(x_train[n_fit:]), prepare_labels(y_train[n_fit:])) if n_val else None
    model = build_model(config)
    fit = dict(batch_size=config.batch_size, validation_data=validation, validation_batch_size=1024, verbose=0,
               callbacks=[progress])
    if config.augment or config.as_drawn:
        rng = np.random.default_rng(config.seed)
        drawn = as_drawn_cached(x_train[:n_fit]) if config.as_drawn else None
        ones = np.nonzero(y_fit_raw == 1)[0]
        flagged = add_flags(x_fit_raw[ones], rng) if config.augment else None
        for epoch in range(config.epochs):
            x_epoch = x_fit_raw.copy()
            if drawn is not None:  # a random share of the MNIST images, as the canvas would give them
                swap = np.nonzero(rng.random(n_fit) < config.as_drawn)[0]
                x_epoch[swap] = drawn[swap]
            if config.augment:  # some 1s with a flag; a fresh random distortion of every image
                pick = rng.random(len(ones)) < FLAGGED_ONES
                x_epoch[ones[pick]] = flagged[pick]
                x_epoch = augment_batch(x_epoch, rng)
            model.fit(prepare_images(x_epoch), y_fit, initial_epoch=epoch, epochs=epoch + 1, **fit)
    else:
        model.fit(prepare_images(x_fit_raw), y_fit, epochs=config.epochs, **fit)
    return TrainResult(model, config, history, history["test_loss"][-1], history["test_accuracy"][-1],
                       time.perf_counter() - start, extra=extra)
