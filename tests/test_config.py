import pytest

from mnist_core import TrainConfig
from mnist_core.cache import cache_key
from mnist_core.config import settings


def test_defaults_are_the_reference_run():
    c = TrainConfig()
    assert (c.epochs, c.batch_size, c.augment, c.deskew, c.dropout, c.as_drawn, c.real_handwriting,
            c.validation_split, c.user_drawings) == (10, 128, False, False, 0, 0, 0, 0, "")


# One other legal value for every setting: each must change the cache key (so a model trained with
# other settings is never taken for this one).
OTHER = {"epochs": 3, "batch_size": 64, "seed": 2, "augment": True, "deskew": True, "dropout": 0.2,
         "as_drawn": 0.5, "real_handwriting": 0.2, "with_validation_writers": True, "validation_split": 0.1,
         "user_drawings": "abc", "adapted_to": "abc"}


def test_every_setting_is_covered_here():
    assert set(OTHER) == {f.name for f in settings()}


@pytest.mark.parametrize("name", sorted(OTHER))
def test_the_cache_key_changes_with_any_setting_and_is_stable(name):
    assert cache_key(TrainConfig()) == cache_key(TrainConfig())
    assert cache_key(TrainConfig(**{name: OTHER[name]})) != cache_key(TrainConfig())


@pytest.mark.parametrize("name, value", [("STEPS", 240), ("MINE", 64), ("LEARNING_RATE", 1e-3),
                                         ("DISTILL", False)])
def test_an_adapted_models_key_changes_with_how_adapting_is_done(monkeypatch, name, value):
    """A cached adaptation made with other settings is another model: it must not be taken for a new one."""
    from mnist_core import adapt
    adapted, trained = TrainConfig(adapted_to="abc"), TrainConfig()
    keys = cache_key(adapted), cache_key(trained)
    monkeypatch.setattr(adapt, name, value)
    assert cache_key(adapted) != keys[0] and cache_key(trained) == keys[1]


@pytest.mark.parametrize("kwargs, field", [
    (dict(epochs=0), "epochs"),
    (dict(epochs=-1), "epochs"),
    (dict(epochs=1_000_000), "epochs"),
    (dict(epochs=2.5), "epochs"),  # not a whole number
    (dict(epochs=True), "epochs"),  # a bool is not a count
    (dict(epochs="10"), "epochs"),
    (dict(batch_size=0), "batch_size"),
    (dict(batch_size=60001), "batch_size"),  # larger than the training set
    (dict(seed=-3), "seed"),
    (dict(dropout=1.0), "dropout"),
    (dict(dropout=float("nan")), "dropout"),
    (dict(validation_split=0.9), "validation_split"),
    (dict(augment="yes"), "augment"),
    (dict(as_drawn=1.5), "as_drawn"),
    (dict(real_handwriting=-0.1), "real_handwriting"),
    (dict(deskew=1), "deskew"),
    (dict(user_drawings=3), "user_drawings"),
])
def test_invalid_values_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**kwargs)


@pytest.mark.parametrize("kwargs", [dict(epochs=1), dict(epochs=200), dict(batch_size=1), dict(batch_size=60000)])
def test_limits_are_allowed(kwargs):
    TrainConfig(**kwargs)


def test_round_trips_through_a_dict():
    c = TrainConfig(epochs=3, augment=True, dropout=0.25)
    assert TrainConfig.from_dict(c.to_dict()) == c
    with pytest.raises(ValueError, match="unknown"):
        TrainConfig.from_dict({"epochs": 3, "learning_rate": 1})


@pytest.mark.parametrize("module, name, other", [
    ("handwriting", "RENDER_VERSION", -1),  # the real pen digits are drawn differently
    ("handwriting", "split_key", lambda: "other writers"),  # other writers held out
    ("augment", "AS_DRAWN_VERSION", -1),  # MNIST digits restroked differently
])
def test_the_cache_key_changes_with_how_training_draws_its_data(monkeypatch, module, name, other):
    import importlib
    before = cache_key(TrainConfig())
    monkeypatch.setattr(importlib.import_module(f"mnist_core.{module}"), name, other)
    assert cache_key(TrainConfig()) != before
