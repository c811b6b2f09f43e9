"""adapt: a copy of a model fine-tuned on one person's drawings; the original stays as it was."""

import numpy as np
import pytest

from benchmarks.folds import misread_and_read
from mnist_core import default_model, predict_proba
from mnist_core.adapt import adapt, model_config


@pytest.fixture(scope="module")
def misread():
    """Real pen digits by validation writers, as the page reads them: 6 the shipped model misreads and
    6 it reads right, of at least two digits."""
    return misread_and_read(default_model().model)


@pytest.mark.slow
def test_the_adapted_model_reads_the_persons_drawings_and_the_original_is_untouched(misread, mnist):
    x, y, right_before = misread
    shipped = default_model().model
    weights = [w.copy() for w in shipped.get_weights()]
    adapted = adapt(shipped, x, y)
    assert (~right_before).sum() == 6  # the shipped model misread six of them
    assert (predict_proba(adapted, x).argmax(axis=1) == y).mean() >= 11 / 12  # now it reads them
    assert all(np.array_equal(a, b) for a, b in zip(shipped.get_weights(), weights))  # the original as it was
    assert adapted is not shipped and model_config(adapted) == model_config(shipped)  # same layers: deskew, dropout
    _, (x_test, y_test) = mnist
    assert (predict_proba(adapted, x_test).argmax(axis=1) == y_test).mean() >= 0.985  # it forgot nothing


def test_learning_mnist_as_the_model_answered_it_keeps_its_answers_closer_than_its_labels(misread, mnist):
    """adapt.DISTILL: MNIST's part of each batch learned as the model answered it before adapting holds the
    adapted model's answers on MNIST's test set nearer the original's (KL 0.011 against 0.017-0.021 by labels,
    seeds 0-2) while it learns the person's drawings as well."""
    x, y, _ = misread
    shipped = default_model().model
    _, (x_test, _) = mnist
    before = predict_proba(shipped, x_test)
    kl = {}
    for distill in (True, False):
        adapted = adapt(shipped, x, y, distill=distill)
        assert (predict_proba(adapted, x).argmax(axis=1) == y).mean() >= 11 / 12
        after = predict_proba(adapted, x_test)
        kl[distill] = (before * (np.log(before + 1e-12) - np.log(after + 1e-12))).sum(axis=1).mean()
    assert kl[True] < 0.85 * kl[False], kl


@pytest.mark.parametrize("x, y, words", [
    (np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64), "no drawings"),
    (np.zeros((5, 28, 28), np.uint8), np.full(5, 3), "all the drawings are 3s"),  # one label only
    (np.zeros((5, 784), np.uint8), np.arange(5), "(n, 28, 28) uint8"),  # flat images
    (np.zeros((5, 28, 28), np.float32), np.arange(5), "(n, 28, 28) uint8"),  # floats
    (np.zeros((5, 28, 28), np.uint8), np.arange(4), "one label per drawing"),  # labels missing
    (np.zeros((5, 28, 28), np.uint8), np.array([0, 1, 2, 3, 12]), "digits 0-9"),
    (np.zeros((5, 28, 28), np.uint8), np.array([0.5, 1, 2, 3, 4]), "digits 0-9"),
])
def test_bad_input_gets_a_clear_error(x, y, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        adapt(default_model().model, x, y)
