"""A trained network as numpy arrays, and what training produced: read and used without TensorFlow.

Reading a drawing, looking inside and measuring are a few lines of numpy on the weights; the page's
process holds models only in this form (an .npz beside each .keras file), and TensorFlow lives in the
processes that train. The dense network is (x (n, 784) in [0, 1]):
[Deskew ->] Dense(512, relu) [-> Dropout] -> Dense(10, softmax), Dropout inactive when reading.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

import numpy as np

from .config import TrainConfig

_PIXELS = np.arange(28, dtype="float32")
MAX_SLANT = 1.0  # largest shear deskew undoes: 1 pixel sideways per pixel down (45 degrees)


def _moments(img, ops):
    """(n, 28, 28) -> each image's slant (n,) and its rows' distance from its centre of mass (n, 28, 1).
    The slant: the covariance of x and y over the variance of y, pixels sideways per pixel down
    (positive: the top leans left), clipped to MAX_SLANT."""
    mass = ops.sum(img, axis=(1, 2)) + 1e-6
    cy = ops.sum(ops.sum(img, axis=2) * _PIXELS, axis=1) / mass  # (n,) centre of mass
    cx = ops.sum(ops.sum(img, axis=1) * _PIXELS, axis=1) / mass
    dy = _PIXELS[:, None] - cy[:, None, None]  # (n, 28, 1) rows from the centre
    dx = _PIXELS[None, :] - cx[:, None, None]  # (n, 1, 28)
    slant = ops.sum(img * dy * dx, axis=(1, 2)) / (ops.sum(img * dy * dy, axis=(1, 2)) + 1e-6)
    return ops.clip(slant, -MAX_SLANT, MAX_SLANT), dy


def slant(x) -> np.ndarray:
    """(n, 784) or (n, 28, 28) digits -> (n,) the slant deskew undoes (see _moments)."""
    return _moments(np.reshape(np.asarray(x, np.float32), (-1, 28, 28)), np)[0]


def deskew(x, ops=np):
    """(n, 784) digits in [0, 1] -> the same, each sheared sideways so that its ink stands upright.

    The shear is minus the slant the image moments measure, pivoting on the centre of mass, so it
    stays put. Row by row this moves pixels sideways, so each output pixel interpolates two
    neighbours in its own row. `ops` is numpy (the per-stroke path, ~0.1 ms) or keras.ops (inside
    the model while training): the same maths."""
    img = ops.reshape(x, (-1, 28, 28))
    lean, dy = _moments(img, ops)
    # Output (y, x) reads input (y, x + lean * dy), in a row padded by one zero pixel each side.
    src = ops.clip(_PIXELS[None, :] + lean[:, None, None] * dy + 1, 0, 28.999)  # (n, 28, 28)
    left = ops.floor(src)
    w = src - left
    i = ops.cast(left, "int32") if ops is not np else left.astype("int32")
    padded = ops.pad(img, ((0, 0), (0, 0), (1, 1)))
    out = ops.take_along_axis(padded, i, axis=2) * (1 - w) + ops.take_along_axis(padded, i + 1, axis=2) * w
    return ops.reshape(out, (-1, 784))


def prepare_images(images, ops=np):
    """(n, 28, 28) uint8 0-255 -> (n, 784) float32 in [0, 1]; ops as in deskew."""
    x = ops.reshape(images, (-1, 784))
    return (x.astype("float32") if ops is np else ops.cast(x, "float32")) / 255


def prepare_labels(labels: np.ndarray) -> np.ndarray:
    """(n,) digits -> (n, 10) one-hot float32."""
    return np.eye(10, dtype="float32")[np.asarray(labels, np.int64)]


@dataclass(frozen=True, eq=False)
class Layer:
    """One layer: kind "Deskew" (no weights), "Dense" (kernel (k, m), bias (m,), activation) or "Dropout"."""
    name: str
    kind: str
    kernel: np.ndarray | None = None
    bias: np.ndarray | None = None
    activation: str = ""
    rate: float = 0.0

    @property
    def units(self) -> int:
        return int(self.kernel.shape[1])

    @property
    def params(self) -> int:
        return 0 if self.kernel is None else int(self.kernel.size + self.bias.size)

    def spec(self) -> dict:
        return {"name": self.name, "kind": self.kind, "activation": self.activation, "rate": self.rate}


_ACTIVATIONS = {"relu": lambda z: np.maximum(z, 0), "linear": lambda z: z, "softmax": lambda z: z}  # softmax: last


@dataclass(eq=False)
class Network:
    """The network's layers with their weights as numpy arrays."""
    layers: tuple[Layer, ...]

    def __post_init__(self):
        dense = [layer for layer in self.layers if layer.kind == "Dense"]
        if not dense or dense[-1].activation != "softmax" or dense[0].kernel.shape[0] != 784 \
                or dense[-1].units != 10 or any(layer.activation not in _ACTIVATIONS for layer in dense) \
                or any(layer.kind not in ("Dense", "Deskew", "Dropout") for layer in self.layers):
            raise ValueError("not a dense network from 784 pixels to a softmax over 10 digits")

    @property
    def deskews(self) -> bool:
        """Whether it straightens digits before its dense layers read them."""
        return any(layer.kind == "Deskew" for layer in self.layers)

    @property
    def dropout(self) -> float:
        return next((layer.rate for layer in self.layers if layer.kind == "Dropout"), 0.0)

    def get_weights(self) -> list[np.ndarray]:
        """Every kernel and bias in order, as keras.Model.get_weights gives them for the same network."""
        return [w for layer in self.layers if layer.kind == "Dense" for w in (layer.kernel, layer.bias)]

    def scores(self, x: np.ndarray) -> np.ndarray:
        """(n, 784) float32 in [0, 1] -> (n, 10) the output layer's scores before softmax."""
        z = x
        for layer in self.layers:
            if layer.kind == "Deskew":
                z = deskew(z)
            elif layer.kind == "Dense":
                z = _ACTIVATIONS[layer.activation](z @ layer.kernel + layer.bias)
        return z

    def to_npz(self) -> bytes:
        arrays = {f"{layer.name}/{part}": getattr(layer, part) for layer in self.layers if layer.kind == "Dense"
                  for part in ("kernel", "bias")}
        buf = io.BytesIO()
        np.savez(buf, layers=np.array(json.dumps([layer.spec() for layer in self.layers])), **arrays)
        return buf.getvalue()

    @classmethod
    def from_npz(cls, source) -> "Network":
        """From to_npz's bytes or a file (never unpickles: a file can hold only arrays)."""
        with np.load(io.BytesIO(source) if isinstance(source, bytes) else source, allow_pickle=False) as f:
            specs = json.loads(str(f["layers"]))
            return cls(tuple(Layer(**s, **({"kernel": f[f"{s['name']}/kernel"], "bias": f[f"{s['name']}/bias"]}
                                           if s["kind"] == "Dense" else {})) for s in specs))


def as_network(model) -> Network:
    """A Network as it is; a Keras model (in a process that trains) as a Network of its current weights."""
    if isinstance(model, Network):
        return model
    from .model import network_of  # Keras: only where a Keras model already exists
    return network_of(model)


@dataclass
class TrainResult:
    model: object  # a Network; a keras.Model where it was just trained (the training's process)
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
        return {"config": self.config.to_dict(), "history": self.history, "test_loss": self.test_loss,
                "test_accuracy": self.test_accuracy, "seconds": self.seconds, "extra": self.extra}

    @classmethod
    def from_meta(cls, model, meta: dict, source: str) -> "TrainResult":
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


def deskews(model) -> bool:
    """Whether the model (a Network or a Keras model) straightens digits before its dense layers read them."""
    return as_network(model).deskews
