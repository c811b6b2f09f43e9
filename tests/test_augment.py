import numpy as np
import pytest

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


def test_spread_widens_every_distortion_and_zero_leaves_the_digit_where_it_was(mnist):
    """adapt distorts a person's few drawings further than training distorts MNIST (adapt.SPREAD): spread scales
    the affine maps' and elastic fields' ranges; 0 keeps only the re-stroking."""
    from mnist_core.augment import elastic_fields, random_affines
    inv, offset = random_affines(500, np.random.default_rng(0), spread=0)
    assert np.allclose(inv, np.eye(2)) and np.allclose(offset, 0) and not elastic_fields(5, np.random.default_rng(0), 0).any()
    (x, _), _ = mnist
    x = x[:500]

    def moved(spread):  # (500,) how far each digit's ink centre moves, px
        a = augment_batch(x, np.random.default_rng(0), spread=spread).astype(float)
        grid = np.arange(28)

        def centre(imgs):
            mass = imgs.sum(axis=(1, 2))
            return np.stack([(imgs.sum(2) * grid).sum(1) / mass, (imgs.sum(1) * grid).sum(1) / mass], 1)
        return np.linalg.norm(centre(a) - centre(x.astype(float)), axis=1)
    none, one, more = moved(0), moved(1), moved(1.75)
    assert none.mean() < 0.3 < one.mean() < more.mean()  # re-stroking alone keeps the centre; shifts move it
    each = moved(np.repeat([0, 1.75], 250))  # a spread per image (adapt gives a digit saved once more room): the
    assert np.allclose(each[:250], none[:250], atol=1e-3) and np.allclose(each[250:], more[250:], atol=1e-3)  # same draws


def test_digits_as_the_canvas_would_deliver_them(mnist, monkeypatch):
    from mnist_core import default_model
    from mnist_core.augment import as_drawn, as_drawn_cached
    (x, y), _ = mnist
    a = as_drawn(x[:300], seed=0)
    assert a.shape == (300, 28, 28) and a.dtype == np.uint8
    assert np.array_equal(a, as_drawn(x[:300], seed=0))  # reproducible
    assert np.abs(a.astype(int) - x[:300]).mean() > 5  # restroked, not copied
    assert (predict_proba(default_model().model, a).argmax(1) == y[:300]).mean() > 0.9
    first = as_drawn_cached(x[:300])
    from mnist_core import augment

    def not_again(*_, **__):
        raise AssertionError("made again, not read from the disk cache")

    monkeypatch.setattr(augment, "as_drawn", not_again)
    assert np.array_equal(as_drawn_cached(x[:300]), first)  # the second comes from disk


def test_flags_are_drawn_on_upright_ones_only(mnist):
    from mnist_core.augment import add_flags
    from mnist_core.canvas import canvas_to_mnist
    (x, y), _ = mnist
    ones = x[y == 1][:300]
    flagged = add_flags(ones, np.random.default_rng(0))
    assert flagged.shape == ones.shape and flagged.dtype == np.uint8
    assert np.array_equal(flagged, add_flags(ones, np.random.default_rng(0)))  # reproducible
    changed = (flagged != ones).any(axis=(1, 2))
    assert 0.3 < changed.mean() < 0.9  # upright 1s get a flag; slanted ones, which would turn into 7s, not
    def width(img):  # of the ink's bounding box, px
        cols = np.nonzero((img >= 0.3 * img.max()).any(axis=0))[0]
        return cols.max() - cols.min() + 1
    wider = np.array([width(new) - width(canvas_to_mnist(one)) for one, new in zip(ones[changed], flagged[changed])])
    assert np.median(wider) >= 2 and (wider > 0).mean() > 0.7  # the flag (and a base on some) widens the 1
    for one in ones[~changed][:20]:  # those left alone lean over 15 degrees
        rows, cols = np.nonzero(one >= 128)
        assert abs(np.polyfit(rows, cols, 1)[0]) > 0.2  # columns per row


def test_struck_zeros_get_a_stroke_across_the_ring(mnist):
    """A stroke through a 0 (Ø, φ or θ) joins the ring (one piece) and, crossing it, splits its hole in two;
    some rising slashes stop inside the ring, as people's do, and leave one hole."""
    from mnist_core.augment import strike_zeros
    from mnist_core.canvas import _pieces_and_holes
    (x, y), _ = mnist
    zeros = x[y == 0][:300]
    struck = strike_zeros(zeros, np.random.default_rng(0))
    assert struck.shape == zeros.shape and struck.dtype == np.uint8
    assert np.array_equal(struck, strike_zeros(zeros, np.random.default_rng(0)))  # reproducible
    assert (struck != zeros).any(axis=(1, 2)).all()
    before = np.array([_pieces_and_holes(z >= 128) for z in zeros])  # (300, 2): pieces, holes
    after = np.array([_pieces_and_holes(z >= 128) for z in struck])
    assert (after[:, 0] == 1).mean() > 0.95  # one stroke and the ring: one piece
    ring = before[:, 1] == 1  # a closed 0
    assert ring.sum() > 200 and (after[ring, 1] >= 2).mean() > 0.75


def test_restroked_digits_are_whole_strokes_of_the_brush_width(mnist):
    """A digit redrawn with a brush keeps its pieces (no stroke breaks, as eroding the outline
    did) and a typical digit takes the brush's width, thin or thick."""
    from mnist_core.canvas import _pieces_and_holes, stroke_width
    from mnist_core.strokes import restroke
    _, (x, _) = mnist
    widths = []
    for digit in x[:40]:
        pieces = _pieces_and_holes(digit >= 64)[0]
        for height, brush in ((240, 12), (150, 20), (90, 28)):
            ink = restroke(digit, height, brush) >= 0.5
            assert ink.shape == (round(28 * height / 20),) * 2
            assert _pieces_and_holes(ink)[0] <= pieces
        widths.append(stroke_width(restroke(digit, 240, 12) >= 0.5))  # thin brush, big digit: no blobs
    assert np.median(widths) == pytest.approx(12, rel=0.25)  # the measure reads ~14 for a bare 12 px line
