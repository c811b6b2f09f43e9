"""The reference network: Input(784) -> Dense(512, relu) -> Dense(10, softmax), RMSprop.

An option puts a Deskew layer (no weights) in front: it shears each digit upright before the dense
layers see it, as in the "deskewing" rows of LeCun's MNIST results table.
"""

from __future__ import annotations

import keras
import numpy as np

from .config import TrainConfig

_PIXELS = np.arange(28, dtype="float32")
MAX_SLANT = 1.0  # largest shear deskew undoes: 1 pixel sideways per pixel down (45 degrees)


def deskew(x, ops=np):
    """(n, 784) digits in [0, 1] -> the same, each sheared sideways so that its ink stands upright.

    The shear is minus the slant the image moments measure (covariance of x and y over the
    variance of y), pivoting on the centre of mass, so it stays put. Row by row this moves pixels
    sideways, so each output pixel interpolates two neighbours in its own row. `ops` is numpy (the
    per-stroke path, ~0.1 ms) or keras.ops (inside the model while training): the same maths."""
    img = ops.reshape(x, (-1, 28, 28))
    mass = ops.sum(img, axis=(1, 2)) + 1e-6
    cy = ops.sum(ops.sum(img, axis=2) * _PIXELS, axis=1) / mass  # (n,) centre of mass
    cx = ops.sum(ops.sum(img, axis=1) * _PIXELS, axis=1) / mass
    dy = _PIXELS[:, None] - cy[:, None, None]  # (n, 28, 1) rows from the centre
    dx = _PIXELS[None, :] - cx[:, None, None]  # (n, 1, 28)
    slant = ops.sum(img * dy * dx, axis=(1, 2)) / (ops.sum(img * dy * dy, axis=(1, 2)) + 1e-6)
    slant = ops.clip(slant, -MAX_SLANT, MAX_SLANT)
    # Output (y, x) reads input (y, x + slant * dy), in a row padded by one zero pixel each side.
    src = ops.clip(_PIXELS[None, :] + slant[:, None, None] * dy + 1, 0, 28.999)  # (n, 28, 28)
    left = ops.floor(src)
    w = src - left
    i = ops.cast(left, "int32") if ops is not np else left.astype("int32")
    padded = ops.pad(img, ((0, 0), (0, 0), (1, 1)))
    out = ops.take_along_axis(padded, i, axis=2) * (1 - w) + ops.take_along_axis(padded, i + 1, axis=2) * w
    return ops.reshape(out, (-1, 784))


@keras.saving.register_keras_serializable(package="mnist_draw")
class Deskew(keras.layers.Layer):
    """Shears each digit upright (see deskew); no weights, so training leaves it as it is."""

    def call(self, x):
        return deskew(x, keras.ops)

    def compute_output_shape(self, input_shape):
        return input_shape


def deskews(model: keras.Model) -> bool:
    """Whether the model straightens digits before its dense layers read them."""
    return any(isinstance(layer, Deskew) for layer in model.layers)


def build_model(config: TrainConfig = TrainConfig()) -> keras.Model:
    """The dense network of the reference notebook; dropout and deskew only if the config asks."""
    # Named layers: Keras's own numbering (dense, dense_1) once named both "dense" when several
    # threads built models at once.
    layers = [keras.Input(shape=(784,))]
    if config.deskew:
        layers.append(Deskew(name="deskew"))
    layers.append(keras.layers.Dense(512, activation="relu", name="hidden"))
    if config.dropout:
        layers.append(keras.layers.Dropout(config.dropout, name="dropout"))
    layers.append(keras.layers.Dense(10, activation="softmax", name="output"))
    model = keras.Sequential(layers, name="mnist_dense")
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def prepare_images(images, ops=np):
    """(n, 28, 28) uint8 0-255 -> (n, 784) float32 in [0, 1]; ops as in deskew."""
    x = ops.reshape(images, (-1, 784))
    return (x.astype("float32") if ops is np else ops.cast(x, "float32")) / 255


def prepare_labels(labels: np.ndarray) -> np.ndarray:
    """(n,) digits -> (n, 10) one-hot float32."""
    return keras.utils.to_categorical(labels, 10).astype("float32")
