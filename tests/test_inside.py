"""Looking inside, on a tiny hand-made network whose every answer can be worked out by hand.

Three hidden units: unit 0 sees pixel (10, 10) and feeds digit 1 (weight 2); unit 1 sees pixel
(20, 20), is inhibited by (10, 10), and feeds digit 7 (weight 3); unit 2 sees (5, 5), has a bias
of -0.5, and feeds digit 1 (weight 1)."""

import keras
import numpy as np
import pytest

from mnist_core import inside, views
from mnist_core.config import TrainConfig
from mnist_core.model import build_model
from mnist_core.network import deskew


def pixel(r, c):
    return r * 28 + c


def tiny(deskewing=False):
    w1 = np.zeros((784, 3), np.float32)
    w1[pixel(10, 10), 0] = 1
    w1[pixel(20, 20), 1], w1[pixel(10, 10), 1] = 1, -1
    w1[pixel(5, 5), 2] = 1
    b1 = np.array([0, 0, -0.5], np.float32)
    w2 = np.zeros((3, 10), np.float32)
    w2[0, 1], w2[1, 7], w2[2, 1] = 2, 3, 1
    layers = [keras.Input((784,))] + ([build_model(TrainConfig(deskew=True)).layers[0]] if deskewing else [])
    model = keras.Sequential(layers + [keras.layers.Dense(3, activation="relu"),
                                       keras.layers.Dense(10, activation="softmax")])
    model.layers[-2].set_weights([w1, b1])
    model.layers[-1].set_weights([w2, np.zeros(10, np.float32)])
    return model


def image(**ink):
    img = np.zeros((28, 28), np.float32)
    for where, value in ink.items():
        img[tuple(int(v) for v in where[1:].split("_"))] = value
    return img


CASES = [  # ink, then by hand: digit, activations, (unit, share) of the top units, contributions {pixel: value}
    (dict(p10_10=1.0), 1, [1, 0, 0], [(0, 1.0)], {(10, 10): 2.0}),
    (dict(p10_10=1.0, p5_5=1.0), 1, [1, 0, 0.5], [(0, 0.8), (2, 0.2)], {(10, 10): 2.0, (5, 5): 1.0}),
    # (10, 10) inhibits the unit that makes this a 7: it pushes against the 7.
    (dict(p20_20=1.0, p10_10=0.5), 7, [0.5, 0.5, 0], [(1, 1.0)], {(20, 20): 3.0, (10, 10): -1.5}),
]


@pytest.mark.parametrize("ink, digit, activations, top, contributions", CASES)
def test_look_inside_a_tiny_network(ink, digit, activations, top, contributions):
    model = tiny()
    seen = inside.look_inside(model, image(**ink))
    assert seen["digit"] == digit
    assert np.allclose(seen["activations"], activations)
    assert [(u["unit"], round(u["share"], 6)) for u in seen["units"]] == top
    assert all(np.array_equal(u["image"], model.layers[0].get_weights()[0][:, u["unit"]].reshape(28, 28))
               for u in seen["units"])
    expected = np.zeros((28, 28), np.float32)
    for (r, c), v in contributions.items():
        expected[r, c] = v
    assert np.allclose(seen["contributions"], expected)
    assert np.allclose(seen["probabilities"], model(image(**ink).reshape(1, 784)).numpy()[0], atol=1e-6)


def test_digit_templates_and_unit_images():
    model = tiny()
    t = inside.digit_templates(model)
    # W1 @ W2 / 3: digit 1 has 2/3 at (10, 10) and 1/3 at (5, 5); digit 7 has 1 at (20, 20) and -1 at
    # (10, 10); the others nothing. Less the mean over the ten digits: -1/30, 1/30 and 1/10 there.
    assert t.shape == (10, 28, 28)
    assert np.allclose([t[1, 10, 10], t[1, 5, 5], t[7, 20, 20], t[7, 10, 10]], [0.7, 0.3, 0.9, -29 / 30])
    assert np.allclose([t[0, 10, 10], t[0, 5, 5], t[0, 20, 20]], [1 / 30, -1 / 30, -0.1])
    assert np.allclose(t.sum(axis=0), 0, atol=1e-6)
    u = inside.unit_images(model, [1])
    assert u.shape == (1, 28, 28) and u[0, 20, 20] == 1 and u[0, 10, 10] == -1


def test_a_deskewing_model_is_looked_at_on_the_deskewed_image():
    slanted = np.zeros((28, 28), np.float32)
    for r in range(6, 22):
        slanted[r, 6 + (r - 6) // 2: 9 + (r - 6) // 2] = 1  # a leaning bar
    straight = deskew(slanted.reshape(1, 784)).reshape(28, 28)
    a, b = inside.look_inside(tiny(deskewing=True), slanted), inside.look_inside(tiny(), straight)
    assert np.allclose(a["input"], straight) and np.allclose(a["contributions"], b["contributions"])


def test_views_draw_signs_and_activations():
    rgb = views.diverging_view(np.array([[1.0, 0.0, -0.5]]), scale=1)
    assert rgb.tolist() == [[[255, 0, 0], [255, 255, 255], [127, 127, 255]]]  # red, white, half blue
    grid = views.activation_view(np.arange(512, dtype=np.float32), scale=1)
    assert grid.shape == (16, 32) and grid[0, 0] <= 40 and grid[-1, -1] == 255


def test_only_the_dense_network_can_be_looked_into():
    other = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax")])
    with pytest.raises(ValueError, match="dense network"):
        inside.look_inside(other, np.zeros((28, 28)))
