"""What the page says about a model matches that model (views: plain data, no browser)."""

import pytest

from mnist_core import TrainConfig
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
