"""What a stronger network than the one the user asked for reads on the same writers: a ceiling, not a product.

A small convolutional network (two 5x5 convolutions of 32 and 64 filters, each pooled, a dense layer of 256,
dropout, Adam with a cosine schedule; 0.86 M weights) trained on the shipped recipe's own epochs, less the
validation writers (epoch_images: MNIST, its canvas-drawn copies, the training writers' pen digits, every
augmentation), then read on the validation and test writers as the page reads them, beside the shipped dense
model. It shows which misreadings come from the dense network and which from the drawings themselves. It
chooses nothing: nothing ships from it.
"""

from __future__ import annotations

import collections
import dataclasses
import time

import numpy as np

from mnist_core.handwriting import reading_set
from mnist_core.network import as_network, deskew, prepare_images


def cnn():
    import keras
    layers = keras.layers
    return keras.Sequential([keras.Input((28, 28, 1)),
                             layers.Conv2D(32, 5, activation="relu", padding="same"), layers.MaxPooling2D(),
                             layers.Conv2D(64, 5, activation="relu", padding="same"), layers.MaxPooling2D(),
                             layers.Flatten(), layers.Dropout(0.3), layers.Dense(256, activation="relu"),
                             layers.Dropout(0.3), layers.Dense(10, activation="softmax")])


def as_input(images: np.ndarray) -> np.ndarray:
    """(n, 28, 28) uint8 -> (n, 28, 28, 1) float32, deskewed as the dense network's Deskew layer does."""
    return deskew(prepare_images(images)).reshape(-1, 28, 28, 1)


def train_cnn(epochs: int, seed: int):
    """The CNN trained on the recipe's epochs (seed's draws), the training writers only."""
    import keras

    from mnist_core.augment import as_drawn_cached
    from mnist_core.data import load_mnist
    from mnist_core.train import _pen_pool, epoch_images

    from .folds import recipe
    config = dataclasses.replace(recipe(), seed=seed, epochs=epochs)
    keras.utils.set_random_seed(seed)
    (x, y), _ = load_mnist()
    model = cnn()
    steps = epochs * -(-(len(x) + round(config.real_handwriting * len(x))) // 128)
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(1e-3, steps)),
                  loss="sparse_categorical_crossentropy")
    epochs_of = epoch_images(config, x, y, as_drawn_cached(x), _pen_pool(config, None))
    for epoch, (x_epoch, y_epoch) in enumerate(epochs_of, 1):
        loss = model.fit(as_input(x_epoch), y_epoch, batch_size=128, epochs=1, verbose=0).history["loss"][0]
        print(f"  CNN epoch {epoch}/{epochs}: loss {loss:.4f}", flush=True)
    return model


def print_benchmark(shipped, epochs: int = 15, seed: int = 2) -> int:
    """Train the CNN, then print it and the shipped model on the validation and test writers: accuracy as the page
    reads, per digit, errors by writer (most first) and the commonest misreadings."""
    start = time.perf_counter()
    model = train_cnn(epochs, seed)
    print(f"CNN trained for {epochs} epoch{'s' * (epochs != 1)} (seed {seed}) on the recipe's epochs, training writers "
          f"only: {time.perf_counter() - start:.0f} s")
    for part in ("validation", "test"):
        s = reading_set(part)
        for name, predicted in (("CNN", model.predict(as_input(s.x), verbose=0, batch_size=1024).argmax(1)),
                                ("shipped dense model", as_network(shipped).scores(prepare_images(s.x)).argmax(1))):
            wrong = (predicted != s.y) | ~s.one
            per_digit = " ".join(f"{d}:{100 * (1 - wrong[s.y == d].mean()):.1f}" for d in range(10))
            learned = " (it trained on these writers)" if part == "validation" and name != "CNN" else ""
            print(f"{part} writers, {name}{learned}: {100 * (1 - wrong.mean()):.2f}% ({int(wrong.sum())} of {len(s.y)} "
                  f"wrong); per digit {per_digit}")
            by_writer = collections.Counter(s.writers[wrong].tolist()).most_common()
            print("  wrong by writer: " + ", ".join(f"{n}" for _, n in by_writer))
            kinds = collections.Counter(zip(s.y[wrong].tolist(), predicted[wrong].tolist())).most_common(5)
            print("  most common (right > read): " + ", ".join(f"{r}>{p} {n}" for (r, p), n in kinds))
    return 0
