"""TrainConfig: every setting that changes a trained model, with its limits and what it means.

Each field's metadata is the one place its limits, label and help live: the checks below, the
command line's flags and the page's sidebar are all made from it. The cache key hashes the config.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

TRAIN_SIZE = 60000


def setting(default, label: str, help: str, lo=None, hi=None, hi_open: bool = False, cli: bool = True,
            page: bool = True, choices: tuple = (), words: str = ""):
    """A TrainConfig field: its default, a short label, a help text, limits for numbers, whether the
    command line (cli) and the page's sidebar (page) offer it, the values the page suggests, and how
    a config's description names it when it is not the default (a format of the value)."""
    return field(default=default, metadata=dict(label=label, help=help, lo=lo, hi=hi, hi_open=hi_open, cli=cli,
                                                page=page, choices=choices, words=words))


@dataclass(frozen=True)
class TrainConfig:
    """Defaults are the reference run: 10 epochs, batch size 128, the plain dense network."""

    epochs: int = setting(10, "Epochs", "Passes over the 60,000 training images.", 1, 200, words="{} epochs")
    batch_size: int = setting(128, "Batch size", "Images per weight update. Smaller: more updates, slower epochs.",
                              1, TRAIN_SIZE, choices=(16, 32, 64, 128, 256, 512, 1024), words="batch size {}")
    seed: int = setting(1, "Seed", "Random seed: the same settings and seed train the same model.", 0, 2**31 - 1,
                        page=False, words="seed {}")
    # Options that help on drawn digits; all off in the reference run.
    augment: bool = setting(
        False, "Augment (reads drawings better)",
        "Each epoch shows every digit slanted, scaled, elastically warped and with a thinner or bolder stroke, "
        "and some 1s with a flag and some 0s struck through (MNIST's writers rarely drew either), so the network "
        "learns handwriting rather than MNIST's pen. Slower: the first epoch takes about 12 s more (the flags and "
        "strokes are drawn first), the others about half as long again.",
        words="augmented")
    deskew: bool = setting(
        False, "Deskew: straighten slanted digits",
        "A first layer, with no weights, shears every digit upright before the dense layers read it, in "
        "training and when reading your drawings: the network no longer has to learn each digit at every slant.",
        words="deskewed")
    dropout: float = setting(0.0, "Dropout", "Randomly silences hidden units while training: a brake on overfitting.",
                             0.0, 1.0, hi_open=True, words="dropout {:g}")
    as_drawn: float = setting(
        0.0, "MNIST digits as if drawn on this canvas (share)",
        "Each epoch, this share of the training digits is shown restroked with a mouse-like brush and read back "
        "through the same preparation as your drawings. The first use prepares them once (about 2 minutes).",
        0.0, 1.0, words="{:.0%} as drawn")
    real_handwriting: float = setting(
        0.0, "Real handwriting, drawn on the canvas (share)",
        "Adds digits written with a pen by real people (UNIPEN's training writers), drawn as this canvas draws "
        "them at a fresh size, brush and colour each time, to every epoch: this many per MNIST training image (0.2 adds 12,000). "
        "Some of their 0s get a slash and some 1s a long up-stroke, as many people write them. The first use "
        "prepares them once (about 2 minutes).", 0.0, 1.0, words="real handwriting {:g}")
    with_validation_writers: bool = setting(
        False, "Also train on the validation writers",
        "Real handwriting also by the writers settings were chosen on (for the shipped model, once its settings "
        "are chosen). The test writers never train.", page=False, words="with the validation writers")
    # Fraction of the training set held out to measure overfitting per epoch (as Keras's fit does).
    validation_split: float = setting(0.0, "Validation split",
                                      "Fraction of the training set held out to watch overfitting.", 0.0, 0.5,
                                      page=False, words="{:.0%} held out")
    # Fingerprint of the user's saved drawings to mix into training ("" for none); see user_drawings.py.
    user_drawings: str = setting("", "Mix in my drawings", "Adds your saved drawings to the training set.", cli=False,
                                 page=False, words="with your drawings")
    # Fingerprint of the drawings this model was adapted to ("" for none): the model the other settings
    # train (or the shipped one, for its own settings), then fine-tuned on them; see adapt.py.
    adapted_to: str = setting("", "Learn my handwriting", "Fine-tunes the model on your saved drawings.", cli=False,
                              page=False, words="adapted to your handwriting")

    def __post_init__(self):
        for f in dataclasses.fields(self):
            _check(f, getattr(self, f.name))
            if f.type == "float":  # dropout=0 is dropout=0.0: one config, one job and one cache key
                object.__setattr__(self, f.name, float(getattr(self, f.name)))

    @property
    def new_images_each_epoch(self) -> bool:
        """Whether each epoch's images are made afresh (augmented, as drawn, real handwriting): slower."""
        return bool(self.augment or self.as_drawn or self.real_handwriting)

    @property
    def base(self) -> "TrainConfig":
        """The settings of the model this one was adapted from (itself, if it was not adapted)."""
        return dataclasses.replace(self, adapted_to="")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown TrainConfig fields: {sorted(unknown)}")
        return cls(**d)


def _check(f: dataclasses.Field, value) -> None:
    """A clear ValueError naming the field if value is not of its type or not within its limits."""
    m, name = f.metadata, f.name
    if f.type == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be True or False, got {value!r}")
    elif f.type == "str":
        if not isinstance(value, str):
            raise ValueError(f"{name} must be a string, got {value!r}")
    elif f.type == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be a whole number from {m['lo']} to {m['hi']}, got {value!r}")
        if not m["lo"] <= value <= m["hi"]:
            raise ValueError(f"{name} must be from {m['lo']} to {m['hi']}, got {value}")
    else:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise ValueError(f"{name} must be a number from {m['lo']} to {m['hi']}, got {value!r}")
        if not m["lo"] <= value <= m["hi"] or (m["hi_open"] and value == m["hi"]):
            raise ValueError(f"{name} must be from {m['lo']} to {m['hi']}{' (exclusive)' if m['hi_open'] else ''}, "
                             f"got {value}")


def settings() -> list[dataclasses.Field]:
    """TrainConfig's fields, in order, each with its metadata (see setting)."""
    return list(dataclasses.fields(TrainConfig))
