import numpy as np

from mnist_core import predict_proba
from mnist_core.augment import augment_batch


def test_augmented_digits_stay_readable_and_vary(mnist, one_epoch):
    (x, y), _ = mnist
    a = augment_batch(x[:2000], np.random.default_rng(0))
    b = augment_batch(x[:2000], np.random.default_rng(1))
    assert a.shape == (2000, 28, 28) and a.dtype == np.uint8
    assert np.array_equal(a, augment_batch(x[:2000], np.random.default_rng(0)))  # reproducible
    assert np.abs(a.astype(int) - b).mean() > 10  # each draw distorts differently
    assert (a.max(axis=(1, 2)) > 200).all()  # strokes keep full ink, as drawings have
    model = one_epoch[0].model
    clean = (predict_proba(model, x[:2000]).argmax(1) == y[:2000]).mean()
    warped = (predict_proba(model, a).argmax(1) == y[:2000]).mean()
    assert 0.5 < warped < clean  # harder for a model that never saw distortions, but the same digits
    from mnist_core import default_model  # trained on such distortions: reads them nearly all
    assert (predict_proba(default_model().model, a).argmax(1) == y[:2000]).mean() > 0.9


def test_digits_as_the_canvas_would_deliver_them(mnist):
    from mnist_core import default_model
    from mnist_core.augment import as_drawn, as_drawn_cached
    (x, y), _ = mnist
    a = as_drawn(x[:300], seed=0)
    assert a.shape == (300, 28, 28) and a.dtype == np.uint8
    assert np.array_equal(a, as_drawn(x[:300], seed=0))  # reproducible
    assert np.abs(a.astype(int) - x[:300]).mean() > 5  # restroked, not copied
    assert (predict_proba(default_model().model, a).argmax(1) == y[:300]).mean() > 0.9
    assert np.array_equal(as_drawn_cached(x[:300]), as_drawn_cached(x[:300]))  # the second comes from disk
