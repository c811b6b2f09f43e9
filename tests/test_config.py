import pytest

from mnist_core import TrainConfig


def test_defaults_are_the_reference_run():
    c = TrainConfig()
    assert (c.epochs, c.batch_size, c.augment, c.dropout, c.as_drawn, c.validation_split) == (10, 128, False, 0, 0, 0)


def test_key_changes_with_any_setting_and_is_stable():
    assert TrainConfig().key() == TrainConfig().key()
    assert TrainConfig(epochs=5).key() != TrainConfig().key()
    assert TrainConfig(augment=True).key() != TrainConfig().key()


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
