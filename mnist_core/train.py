"""Training: data -> prepared arrays -> the reference network -> fit -> test evaluation."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import keras
import numpy as np

from .augment import augment_batch
from .config import TrainConfig
from .data import load_mnist
from .model import build_model, prepare_images, prepare_labels

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


class _Progress(keras.callbacks.Callback):
    """Collects per-epoch logs and hands them to on_epoch(epoch, logs), epoch 1-based."""

    def __init__(self, on_epoch: OnEpoch | None, history: dict[str, list[float]]):
        super().__init__()
        self.on_epoch, self.history = on_epoch, history

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: float(v) for k, v in (logs or {}).items()}
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)
        if self.on_epoch is not None:
            self.on_epoch(epoch + 1, logs)


def train(config: TrainConfig = TrainConfig(), on_epoch: OnEpoch | None = None, data=None) -> TrainResult:
    """Train the network for config; data defaults to load_mnist()."""
    start = time.perf_counter()
    keras.utils.set_random_seed(config.seed)
    (x_train, y_train), (x_test, y_test) = data if data is not None else load_mnist()
    n_val = int(len(x_train) * config.validation_split)
    n_fit = len(x_train) - n_val
    y_fit = prepare_labels(y_train[:n_fit])
    validation = (prepare_images(x_train[n_fit:]), prepare_labels(y_train[n_fit:])) if n_val else None
    model = build_model(config)
    history: dict[str, list[float]] = {}
    fit = dict(batch_size=config.batch_size, validation_data=validation, verbose=0,
               callbacks=[_Progress(on_epoch, history)])
    if config.augment:
        # A fresh random distortion of every training image each epoch.
        rng = np.random.default_rng(config.seed)
        for epoch in range(config.epochs):
            x_fit = prepare_images(augment_batch(x_train[:n_fit], rng))
            model.fit(x_fit, y_fit, initial_epoch=epoch, epochs=epoch + 1, **fit)
    else:
        model.fit(prepare_images(x_train[:n_fit]), y_fit, epochs=config.epochs, **fit)
    test_loss, test_accuracy = model.evaluate(
        prepare_images(x_test), prepare_labels(y_test), batch_size=1024, verbose=0)
    return TrainResult(model, config, history, float(test_loss), float(test_accuracy),
                       time.perf_counter() - start)
