"""Random distortions of MNIST digits so the network also reads mouse-drawn digits.

Drawn digits differ from MNIST's in slant, proportions, position and above all stroke width;
each training epoch sees every image with a fresh random affine warp and stroke width.
"""

from __future__ import annotations

import keras
import numpy as np

CENTRE = 13.5  # pixel centre of a 28x28 image


def random_affines(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 8) Keras projective transforms (output -> input pixel) about the image centre."""
    angle = np.deg2rad(rng.uniform(-15, 15, n))
    shear = rng.uniform(-0.3, 0.3, n)
    scale = rng.uniform(0.85, 1.15, n)
    aspect = np.exp(rng.uniform(-0.15, 0.15, n))
    sx, sy = scale * aspect, scale / aspect
    shift = rng.uniform(-1.5, 1.5, (n, 2))
    # Forward map A = R(angle) @ Shear @ diag(sx, sy); Keras wants its inverse.
    c, s = np.cos(angle), np.sin(angle)
    a = np.empty((n, 2, 2))
    a[:, 0, 0], a[:, 0, 1] = c * sx, (c * shear - s) * sy
    a[:, 1, 0], a[:, 1, 1] = s * sx, (s * shear + c) * sy
    inv = np.linalg.inv(a)
    centre = np.array([CENTRE, CENTRE])
    offset = centre - np.einsum("nij,nj->ni", inv, centre + shift)
    t = np.zeros((n, 8), dtype="float32")
    t[:, 0], t[:, 1], t[:, 2] = inv[:, 0, 0], inv[:, 0, 1], offset[:, 0]
    t[:, 3], t[:, 4], t[:, 5] = inv[:, 1, 0], inv[:, 1, 1], offset[:, 1]
    return t


def augment_batch(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n, 28, 28) uint8 -> (n, 28, 28) uint8, each warped and its stroke thinned or thickened."""
    n = len(images)
    x = keras.ops.convert_to_tensor(images[..., None].astype("float32"))
    x = keras.ops.image.affine_transform(x, random_affines(n, rng), data_format="channels_last")
    # Stroke width: blend towards a 3x3 grey dilation (bolder) or erosion (thinner).
    grow = keras.ops.max_pool(x, 3, strides=1, padding="same")
    shrink = -keras.ops.max_pool(-x, 3, strides=1, padding="same")
    mix = rng.uniform(-0.7, 1.0, (n, 1, 1, 1)).astype("float32")
    x = keras.ops.where(mix > 0, x + mix * (grow - x), x - mix * (shrink - x))
    return np.clip(keras.ops.convert_to_numpy(x)[..., 0], 0, 255).round().astype(np.uint8)
