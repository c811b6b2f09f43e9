"""TrainConfig: every setting that changes a trained model. Its hash keys the model cache."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass

TRAIN_SIZE = 60000


def _check_int(name: str, value, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number from {lo} to {hi}, got {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be from {lo} to {hi}, got {value}")


def _check_float(name: str, value, lo: float, hi: float, hi_open: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ValueError(f"{name} must be a number from {lo} to {hi}, got {value!r}")
    if not lo <= value <= hi or (hi_open and value == hi):
        raise ValueError(f"{name} must be from {lo} to {hi}{' (exclusive)' if hi_open else ''}, got {value}")


@dataclass(frozen=True)
class TrainConfig:
    """Defaults are the reference run: 10 epochs, batch size 128, the plain dense network."""

    epochs: int = 10
    batch_size: int = 128
    seed: int = 1
    # Options that help on drawn digits (see mnist_core.augment); off in the reference run.
    augment: bool = False
    dropout: float = 0.0
    # Share of training images shown each epoch as the canvas would deliver them (augment.as_drawn).
    as_drawn: float = 0.0
    # A first layer that shears every digit upright (model.Deskew), in training and when reading.
    deskew: bool = False
    # Fraction of the training set held out to measure overfitting per epoch (as Keras's fit does).
    validation_split: float = 0.0
    # Fingerprint of the user's saved drawings to mix into training ("" for none); see drawings.py.
    user_drawings: str = ""

    def __post_init__(self):
        _check_int("epochs", self.epochs, 1, 200)
        _check_int("batch_size", self.batch_size, 1, TRAIN_SIZE)
        _check_int("seed", self.seed, 0, 2**31 - 1)
        for name in ("augment", "deskew"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        _check_float("dropout", self.dropout, 0.0, 1.0, hi_open=True)
        _check_float("as_drawn", self.as_drawn, 0.0, 1.0)
        _check_float("validation_split", self.validation_split, 0.0, 0.5)
        if not isinstance(self.user_drawings, str):
            raise ValueError(f"user_drawings must be a fingerprint string, got {self.user_drawings!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown TrainConfig fields: {sorted(unknown)}")
        return cls(**d)

    def key(self) -> str:
        """A short stable hash of the settings (the model cache adds data and Keras versions)."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]
