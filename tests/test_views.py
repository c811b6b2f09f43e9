"""What the page says about a model matches that model (views: plain data, no browser)."""

import dataclasses

import numpy as np
import pytest

from mnist_core import TrainConfig
from mnist_core import views
from mnist_core.views import no_gap_reason


@pytest.mark.parametrize("config, says, never", [
    (TrainConfig(epochs=2), "averages an epoch's training accuracy", "distorted"),  # plain: no talk of options
    (TrainConfig(augment=True), "distorted inputs", "partly silenced"),
    (TrainConfig(dropout=0.2), "partly silenced inputs", "distorted"),
    (TrainConfig(augment=True, dropout=0.2), "distorted, partly silenced inputs", "averages"),
    (TrainConfig(real_handwriting=0.2), "drawn or real pen inputs", "distorted"),
])
def test_the_no_gap_explanation_is_about_the_models_own_settings(config, says, never):
    reason = no_gap_reason(config)
    assert says in reason and never not in reason


def test_the_recipes_are_the_reference_run_and_the_shipped_recipe_a_student_can_train():
    from mnist_core import default_model
    from mnist_core.config import settings
    from mnist_core.views import recipes
    reference, shipped = recipes(default_model().config, lambda config: 10.0 * config.epochs)
    page = [f.name for f in settings() if f.metadata["page"]]
    assert reference["settings"] == {n: getattr(TrainConfig(), n) for n in page}
    assert shipped["settings"] == {n: getattr(default_model().config, n) for n in page}
    assert reference["cost"] == "about 2 min"  # 10 epochs at 10 s; no preparation
    assert shipped["cost"].startswith("about 5 min") and "first time" in shipped["cost"]  # 30 epochs


def result(config, train_acc, test_acc, real=None, epochs=None):
    """A TrainResult with the figures a comparison reads (no model: comparisons read figures only)."""
    from mnist_core.network import TrainResult
    n = epochs or config.epochs
    history = {"accuracy": [train_acc] * n, "test_accuracy": [test_acc] * n, "loss": [0.1] * n, "test_loss": [0.1] * n}
    extra = {"real_handwriting": {"part": "test", "accuracy": real}} if real is not None else {}
    return TrainResult(None, config, history, 0.1, test_acc, 1.0, extra=extra)


def adapted(config, base_test_acc, test_acc, drawings=10):
    """A model adapted to a person's drawings: its history is its base's training (see adapt.adapted_result)."""
    r = result(dataclasses.replace(config, adapted_to="abc"), 0.97, base_test_acc)
    r.extra["adapted"] = {"drawings": drawings, "base_source": "shipped", "base_test_accuracy": base_test_acc}
    return dataclasses.replace(r, test_accuracy=test_acc)


@pytest.mark.parametrize("a, b, says", [
    (result(TrainConfig(epochs=10), 0.990, 0.980), result(TrainConfig(epochs=20), 0.998, 0.9812),
     "20 epochs instead of 10 epochs: test accuracy +0.12 points, gap +0.68 points: more overfitting."),
    (result(TrainConfig(dropout=0.0), 0.99, 0.98), result(TrainConfig(dropout=0.2), 0.985, 0.982),
     "dropout 0.2 instead of dropout 0: test accuracy +0.20 points, gap -0.70 points: less overfitting."),
    (result(TrainConfig(batch_size=32), 0.99, 0.98, real=0.90), result(TrainConfig(batch_size=512), 0.99, 0.98, real=0.88),
     "batch size 512 instead of batch size 32: test accuracy +0.00 points, gap +0.00 points: about as much "
     "overfitting; real handwriting -2.0 points."),
    (result(TrainConfig(), 0.99, 0.98), result(TrainConfig(augment=True), 0.97, 0.985),
     "augmented instead of not augmented: test accuracy +0.50 points, gap -2.50 points: less overfitting."),
    # Adapting runs no epochs: no gap of its own to compare (its history is its base's).
    (result(TrainConfig(), 0.99, 0.98), adapted(TrainConfig(), 0.98, 0.9812),
     "adapted to your handwriting instead of not adapted to your handwriting: test accuracy +0.12 points."),
    (result(TrainConfig(user_drawings="abc"), 0.99, 0.98), result(TrainConfig(), 0.99, 0.98),
     "without your drawings instead of with your drawings: test accuracy +0.00 points, gap +0.00 points: about as "
     "much overfitting."),
    (result(TrainConfig(), 0.99, 0.98), result(TrainConfig(epochs=20, dropout=0.2), 0.99, 0.98), None),  # two differ
    (result(TrainConfig(), 0.99, 0.98), result(TrainConfig(), 0.99, 0.98), None),  # identical runs
])
def test_the_comparison_says_what_one_changed_setting_did_and_nothing_otherwise(a, b, says):
    from mnist_core.views import comparison
    assert comparison(a, b) == says


def test_an_adapted_model_is_described_by_what_it_was_adapted_from_and_has_no_gap_of_its_own():
    from mnist_core.views import adapted_line, trainings_rows
    mine = adapted(TrainConfig(epochs=30, augment=True), 0.9896, 0.9894, drawings=12)
    line = adapted_line(mine)
    assert "the shipped model (30 epochs, batch size 128, augmented)" in line and "your 12 saved drawings" in line
    assert "curves below are those of the model it was adapted from" in line
    assert adapted_line(result(TrainConfig(), 0.99, 0.98)) is None  # a trained model: its own training
    rows = trainings_rows([mine, result(TrainConfig(), 0.99, 0.98)])
    assert rows[0]["gap"] is None and rows[1]["gap"] == pytest.approx(0.01)


def test_runs_are_named_by_what_sets_them_apart_from_the_reference_run():
    from mnist_core.views import run_name
    assert run_name(TrainConfig()) == "10 epochs"
    assert run_name(TrainConfig(epochs=1)) == "1 epoch"
    assert run_name(TrainConfig(epochs=3, batch_size=512, dropout=0.2)) == "3 epochs, batch size 512, dropout 0.2"
    assert run_name(TrainConfig(adapted_to="abc")) == "10 epochs, adapted to your handwriting"


def test_the_class_table_is_best_first_with_how_many_people_ran_each():
    from mnist_core.views import class_rows
    runs = [result(TrainConfig(epochs=1), 0.95, 0.96), result(TrainConfig(epochs=3), 0.99, 0.975)]
    rows = class_rows(runs, {"3": 2}, lambda c: str(c.epochs))
    assert [(r["run"], r["people"]) for r in rows] == [("3 epochs", 2), ("1 epoch", 0)]
    assert rows[0]["gap"] == pytest.approx(0.015)


@pytest.mark.parametrize("labels, says", [
    ([3, 7], "Fewer than two saved so far: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9."),
    ([0, 0, 1, 1, 1, 2, 2] + [d for d in range(3, 10) for _ in range(2)], "two or three of each digit rather than one."),
    ([d for d in range(10) for _ in range(2)][:-1], "Fewer than two saved so far: 9."),
])
def test_the_advice_names_the_digits_with_fewer_than_two_drawings(labels, says):
    assert views.learning_advice(np.array(labels)).endswith(says)
