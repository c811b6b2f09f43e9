"""Learn one person's handwriting: a copy of a model fine-tuned on the drawings they saved.

A few drawings with their right labels, seen many times over, each time freshly distorted (further than
training distorts MNIST: one drawing must stand for all the ways this person writes that digit), mixed
with MNIST's digits so that the network forgets nothing of everyone else's handwriting; a short run
at a low learning rate, on a compiled trainer kept warm between adaptations (see train._Trainer).
MNIST's digits are learned as the model answered them before adapting (its ten probabilities, not
their labels: "learning without forgetting", Li and Hoiem 2016): the person's drawings may move what
they need, and the answers elsewhere are held where they were, unsure ones included.
"""

from __future__ import annotations

import numpy as np

from .augment import augment_batch
from .config import TrainConfig
from .data import load_mnist
from .network import TrainResult, as_network

STEPS = 120  # weight updates: one compiled shape, so every adaptation reuses the trainer
BATCH = 128
# Of each batch, the person's drawings (distorted afresh each time); the rest MNIST's. Chosen on the
# validation writers; `python -m benchmarks folds` compares others on writers the model never saw: a
# larger share reads the person better and forgets more of MNIST (see the model card).
MINE = 32
LEARNING_RATE = 3e-4
# MNIST's part learned as the model answered it before adapting, not by its labels. On the folds of
# `benchmarks folds` (seeds 0-3): 45% of the errors gone, not 37%, and MNIST after the hard set 98.83%, not 98.78%.
DISTILL = True
# A drawing of a digit the person saved n of is distorted 1 + SPREAD / n times as widely as training distorts
# MNIST (every range of augment's rotation, shear, scale, shift and elastic field): one drawing must stand for
# all the ways this person writes that digit; three need less. Chosen on the folds of `benchmarks folds`
# (seeds 0-3): errors left, with one drawing of each digit at random (of 194) / one misread (`--pick misread`,
# of 97) / two (173) / three (143) at random, when each is distorted 1x: 121 / 61 / 103 / 75; 1.25x: three 75;
# 1.375x: two 99, three 76; 1.75x: 118 / 39 / 108 / 88. MNIST after 98.91-98.99% at each.
SPREAD = 0.75


def check_settings(steps: int, mine: int, learning_rate: float, spread: float = SPREAD) -> None:
    """A ValueError unless steps >= 1, 1 <= mine < BATCH (some of each batch stays MNIST's), learning_rate > 0
    and 0 <= spread <= 2 (beyond, a digit is turned past recognition)."""
    if not (steps >= 1 and 1 <= mine < BATCH and learning_rate > 0 and 0 <= spread <= 2):
        raise ValueError(f"adapting needs steps >= 1, mine from 1 to {BATCH - 1} (of each batch of {BATCH}), a "
                         f"learning rate above 0 and a spread from 0 to 2; got steps={steps}, mine={mine}, "
                         f"learning_rate={learning_rate:g}, spread={spread:g}")


def _checked(x, y) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim != 3 or x.shape[1:] != (28, 28) or x.dtype != np.uint8:
        raise ValueError(f"drawings must be (n, 28, 28) uint8 images, got {x.shape} {x.dtype}")
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(f"labels must be (n,) with one label per drawing, got {y.shape} for {len(x)} drawings")
    if len(y) == 0:
        raise ValueError("no drawings to learn from: save some drawings with their right labels first")
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() > 9:
        raise ValueError("labels must be digits 0-9")
    if len(np.unique(y)) < 2:
        raise ValueError(f"all the drawings are {int(y[0])}s: save drawings of at least two digits, so that the "
                         "network learns how you write each rather than to answer one digit")
    return x, y.astype(np.int32)


def model_config(model) -> TrainConfig:
    """The TrainConfig whose build_model has model's layers (deskew, dropout); model a Network or Keras's."""
    network = as_network(model)
    return TrainConfig(deskew=network.deskews, dropout=network.dropout)


def adapt(model, x, y, seed: int = 0, data=None, steps: int = STEPS, mine: int = MINE,
          learning_rate: float = LEARNING_RATE, distill: bool = DISTILL, spread: float = SPREAD):
    """A new keras.Model: model (a Network, or a Keras model) fine-tuned on a person's drawings x ((n, 28, 28) uint8, as canvas_to_mnist
    returns them, times 255) with labels y ((n,) digits); model itself is unchanged. A ValueError says
    what is wrong with bad input (no drawings, one digit only, wrong shapes). steps, mine,
    learning_rate, distill and spread are for benchmarks that choose them (python -m benchmarks folds)."""
    from .model import build_model
    from .train import _Adapter, _as_tensors, _give_back, _pool_key, _take_trainer
    check_settings(steps, mine, learning_rate, spread)
    x, y = _checked(x, y)
    (x_mnist, y_mnist), _ = data if data is not None else load_mnist()
    rng = np.random.default_rng(seed)
    ours = rng.integers(len(y), size=steps * mine)
    theirs = rng.integers(len(y_mnist), size=steps * (BATCH - mine))
    saved = np.bincount(y, minlength=10)  # of each digit
    # (steps * BATCH, 28, 28): the person's, each distorted 1 + spread / (how many of its digit they saved) times
    # as widely as MNIST's, then MNIST's
    images = np.concatenate([augment_batch(x[ours], rng, spread=1 + spread / saved[y[ours]]),
                             augment_batch(x_mnist[theirs], rng)])
    labels = np.concatenate([y[ours], y_mnist[theirs]])
    # Batch k: `mine` of the person's then the rest MNIST's, shuffled within the batch.
    order = np.concatenate([np.arange(steps * mine).reshape(steps, mine),
                            steps * mine + np.arange(steps * (BATCH - mine)).reshape(steps, -1)], axis=1)
    order = rng.permuted(order, axis=1).astype(np.int32)
    config = model_config(model)
    # Fine-tuned without dropout: a short run needs every unit, and so it runs compiled (XLA) and kept warm.
    plain = TrainConfig(deskew=config.deskew, batch_size=BATCH)
    key = ("adapt", *_pool_key(plain, steps))
    trainer = _take_trainer(plain, key, _Adapter)
    try:
        # The first steps * mine images are the person's: learned by their labels; MNIST's by the model's answers.
        trainer.begin(model.get_weights(), learning_rate, steps * mine if distill else len(labels))
        trainer.epoch(_as_tensors(images, labels), order)
        adapted = build_model(config)
        adapted.set_weights(trainer.model.get_weights())
    finally:  # kept warm for the next adaptation, however this one ended
        _give_back(key, trainer)
    return adapted


def adapted_result(config: TrainConfig, drawings=None):
    """The TrainResult of config.adapted_to: the model of config.base (see cache.base_result) adapted to
    the saved drawings with that fingerprint (drawings: a user_drawings.Drawings, default everyone's),
    measured afresh on MNIST's test set and the test writers. Its history is the base's training's."""
    import time

    from .cache import base_result
    from .evaluate import measure
    from .handwriting import real_handwriting_figures

    from .user_drawings import Drawings
    start = time.perf_counter()
    base = base_result(config.base)
    x, y = (drawings if drawings is not None else Drawings()).for_training(config.adapted_to)
    model = adapt(base.model, x, y)
    _, (x_test, y_test) = load_mnist()
    m = measure(model, x_test, y_test)
    extra = {"adapted": {"drawings": int(len(y)), "base_source": base.source, "base_test_accuracy": base.test_accuracy,
                         "base_real_handwriting": base.extra.get("real_handwriting")},
             "real_handwriting": real_handwriting_figures(model)}
    return TrainResult(model, config, base.history, m["loss"], m["accuracy"], time.perf_counter() - start, extra=extra)
