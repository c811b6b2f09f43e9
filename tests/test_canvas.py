"""canvas_to_mnist: every canvas convention, odd sizes and bad input, table-driven."""

import io

import numpy as np
import pytest
from PIL import Image

from mnist_core import canvas_to_digits, canvas_to_mnist
from benchmarks.synthetic import TEMPLATES
from mnist_core.strokes import as_canvas, render


def centre_of_mass(img):
    r = np.arange(img.shape[0])
    return (img.sum(1) * r).sum() / img.sum(), (img.sum(0) * r).sum() / img.sum()


def enlarged(digit, size=280, at=None, canvas=280):
    """A real MNIST digit scaled to `size` px, pasted onto a blank canvas (ink in [0, 1])."""
    big = np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BILINEAR)) / 255
    ink = np.zeros((canvas, canvas), np.float32)
    top, left = at if at is not None else ((canvas - size) // 2,) * 2
    ink[top: top + size, left: left + size] = big
    return ink


@pytest.mark.parametrize("blank", [
    np.zeros((280, 280, 4), np.uint8),  # st_canvas default: transparent
    np.full((280, 280, 4), 255, np.uint8),  # opaque white RGBA
    np.full((280, 280, 3), 255, np.uint8),  # white paper
    np.zeros((280, 280, 3), np.uint8),  # black board
    np.full((280, 280), 0.5, np.float32),  # grey float
    np.zeros((12, 12), np.uint8),  # tiny
], ids=["rgba-transparent", "rgba-white", "rgb-white", "rgb-black", "grey-float", "tiny"])
def test_blank_canvas_gives_none(blank):
    assert canvas_to_mnist(blank) is None


@pytest.mark.parametrize("convention", ["rgba-transparent", "black-on-white", "white-on-black", "colour-on-grey"])
def test_every_colour_convention_reads_the_same(mnist, convention):
    _, (x_test, _) = mnist
    ink = enlarged(x_test[0], 200)
    reference = canvas_to_mnist(ink)
    out = canvas_to_mnist(as_canvas(ink, convention))
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert np.abs(out - reference).max() < 0.05


def test_enlarged_mnist_digits_come_back_close_to_the_original(mnist):
    _, (x_test, _) = mnist
    corr = [np.corrcoef(x_test[i].ravel() / 255, canvas_to_mnist(enlarged(x_test[i])).ravel())[0, 1]
            for i in range(100)]
    assert np.median(corr) > 0.9, np.median(corr)


@pytest.mark.parametrize("at", [(0, 0), (0, 160), (160, 0), (170, 170)])
def test_off_centre_digit_comes_back_centred(mnist, at):
    _, (x_test, _) = mnist
    centred = canvas_to_mnist(enlarged(x_test[1], 110, at=(85, 85)))
    out = canvas_to_mnist(enlarged(x_test[1], 110, at=at))
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14) <= 0.6 and abs(cx - 14) <= 0.6
    assert np.abs(out - centred).max() < 0.02  # the position on the canvas does not matter


def test_longer_side_is_twenty_pixels(mnist):
    _, (x_test, _) = mnist
    out = canvas_to_mnist(enlarged(x_test[2], 150))  # a "1": tall and thin
    rows, cols = np.nonzero(out > 0.05)
    assert rows.max() - rows.min() + 1 == 20 and cols.max() - cols.min() + 1 < 20


@pytest.mark.parametrize("height", [90, 150, 200])
def test_brush_width_is_brought_to_mnist_stroke_width(height):
    """The same 7 drawn with a 12 px and a 28 px brush gives a similar amount of ink (a plain
    crop and resize would give about 28/12 = 2.3 times as much)."""
    seven = TEMPLATES[7][0]
    thin = canvas_to_mnist(render(seven, height, (140, 140), brush=12))
    bold = canvas_to_mnist(render(seven, height, (140, 140), brush=28))
    assert bold.sum() / thin.sum() < 1.5, (bold.sum(), thin.sum())


def test_thinning_a_fat_stroke_keeps_the_shape():
    """A small 0 drawn with a fat brush: one side of the ring is thin, the other thick. Thinning
    it all the way to MNIST's width cut the thin side and the 0 lost its hole."""
    from PIL import ImageDraw

    from mnist_core.canvas import _pieces_and_holes
    img = Image.new("L", (280, 280), 0)
    draw = ImageDraw.Draw(img)
    draw.ellipse((80, 60, 200, 220), fill=255)
    draw.ellipse((150, 100, 188, 180), fill=0)  # the hole, off to the right: a 12 px right side
    out = canvas_to_mnist(np.asarray(img))
    assert _pieces_and_holes(out >= 0.2) == (1, 1)  # one piece, one hole: still a 0


@pytest.mark.parametrize("canvas, box", [
    (np.pad(np.ones((1, 1), np.float32), 140), (20, 20)),  # a single dot: scaled up like any digit
    (np.pad(np.ones((3, 3), np.uint8) * 255, 100), (20, 20)),  # a stray blob
    (np.ones((280, 280), np.float32), None),  # all ink: no border to tell the background from, so blank
    (np.pad(np.ones((10, 2), np.uint8) * 255, 1), (20, 4)),  # 12 px wide canvas, a tall bar
    (np.pad(np.ones((900, 30), np.uint8) * 255, 150), (20, 1)),  # 1200 px canvas, a thin tall bar
    (np.pad(np.ones((40, 300), np.uint8) * 255, 20)[..., None], (3, 20)),  # (H, W, 1), a flat dash
    (np.pad(np.ones((50, 50), np.uint8) * 255, ((10, 10), (200, 10))), (20, 20)),  # not square
], ids=["dot", "blob", "all-ink", "12px", "1200px", "hw1-dash", "wide"])
def test_odd_but_legal_canvases_give_the_expected_digit_box(canvas, box):
    """None for a blank read, else a (28, 28) image whose ink box is `box` (rows, columns): the
    longer side 20 px, the aspect kept."""
    out = canvas_to_mnist(canvas)
    if box is None:
        assert out is None
        return
    assert out.shape == (28, 28) and out.dtype == np.float32 and 0 <= out.min() <= out.max() == 1
    rows, cols = np.nonzero(out > 0.05)
    assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == box


@pytest.mark.parametrize("bad, error, words", [
    ([[0, 1], [1, 0]], TypeError, "numpy array"),
    (None, TypeError, "numpy array"),
    ("digit.png", TypeError, "numpy array"),
    (np.zeros(280), ValueError, "shaped"),
    (np.zeros((2, 280, 280, 4)), ValueError, "shaped"),
    (np.zeros((280, 280, 2)), ValueError, "shaped"),
    (np.zeros((0, 280)), ValueError, "empty"),
    (np.full((280, 280), np.nan), ValueError, "NaN"),
    (np.full((280, 280), 255.0), ValueError, r"\[0, 1\]"),  # float means 0-1
    (np.zeros((280, 280), np.complex64), TypeError, "dtype"),
])
def test_bad_input_raises_a_clear_error(bad, error, words):
    with pytest.raises(error, match=words):
        canvas_to_mnist(bad)


def test_mnist_stroke_constant_matches_mnist(mnist):
    from mnist_core.canvas import MNIST_STROKE, mnist_stroke_width
    (x, _), _ = mnist
    assert mnist_stroke_width(x[::20]) == pytest.approx(MNIST_STROKE, abs=0.3)


# canvas_to_digits: a number on a wide canvas, split into digits left to right.
WIDE = (280, 600)  # canvas (height, width)


def wide(*strokes_at, brush=14):
    """Strokes (unit box) at (height px, (x, y) px of their top left) each, drawn on one wide canvas,
    black on white."""
    ink = np.zeros(WIDE, np.float32)
    for strokes, height, (x, y) in strokes_at:
        ink = np.maximum(ink, render(strokes, height, (x, y), brush, side=WIDE[1])[: WIDE[0]])
    return as_canvas(ink, "black-on-white")


def line(*points):
    return np.array(points, np.float32)


def test_a_blank_canvas_has_no_digits():
    assert canvas_to_digits(np.full((*WIDE, 4), 0, np.uint8)) == []


def test_one_digit_is_read_exactly_as_canvas_to_mnist_reads_it():
    canvas = wide((TEMPLATES[3][0], 200, (200, 40)))
    (digit,) = canvas_to_digits(canvas)
    assert np.array_equal(digit, canvas_to_mnist(canvas))


@pytest.mark.parametrize("name, strokes", [
    ("a 4 in two strokes that cross", TEMPLATES[4][0]),
    ("a 5 whose hat does not touch its body", [line((0.3, 0.0), (0.9, 0.0)), *TEMPLATES[5][0][0:1]]),
    ("a 4 whose stem, a second stroke, starts below its bar", [line((0.62, 0.0), (0.05, 0.68), (0.92, 0.68)),
                                                               line((0.66, 0.8), (0.66, 1.0))]),
    ("a crossed 7 whose bar misses the stem", [*TEMPLATES[7][0], line((0.2, 0.55), (0.45, 0.55))]),
    ("a 1 broken in two", [line((0.5, 0.0), (0.5, 0.45)), line((0.5, 0.6), (0.5, 1.0))]),
    # Parts that stand apart, side by side (no column in common): each used to come back as two digits.
    ("an open 4: a hook, and its stem apart to the right", [line((0.3, 0.0), (0.0, 0.55), (0.45, 0.55)),
                                                            line((0.62, 0.0), (0.62, 1.0))]),
    ("an open 4 with a tall hook (0.75 of the stem)", [line((0.3, 0.0), (0.0, 0.75), (0.45, 0.75)),
                                                       line((0.62, 0.0), (0.62, 1.0))]),
    ("a 5 whose hat stands to the right of its body", [line((0.0, 0.0), (0.0, 0.45), (0.3, 0.4), (0.45, 0.7),
                                                            (0.3, 1.0), (0.0, 0.95)), line((0.55, 0.0), (1.0, 0.0))]),
    ("a 1 whose foot stands to its right", [line((0.2, 0.0), (0.2, 1.0)), line((0.3, 1.0), (0.8, 1.0))]),
    ("a 7 whose bar, a second stroke, ends left of it", [line((0.0, 0.0), (0.4, 0.0)), line((0.5, 0.0), (0.8, 0.0),
                                                                                             (0.5, 1.0))]),
    ("a 3 whose top arc is a stroke of its own, apart", [line((0.0, 0.0), (0.35, 0.05), (0.4, 0.3)),
                                                         line((0.5, 0.45), (0.8, 0.6), (0.7, 1.0), (0.45, 1.0))]),
])
def test_strokes_of_one_digit_stay_together(name, strokes):
    assert len(canvas_to_digits(wide((strokes, 200, (200, 40))))) == 1, name


def test_three_digits_close_together_are_three_left_to_right(mnist):
    from mnist_core import default_model, predict_proba
    canvas = wide((TEMPLATES[2][0], 180, (40, 50)), (TEMPLATES[0][0], 180, (200, 50)),
                  (TEMPLATES[7][0], 180, (360, 50)))  # gaps of ~20 px between them
    digits = canvas_to_digits(canvas)
    assert len(digits) == 3 and all(d.shape == (28, 28) and d.dtype == np.float32 for d in digits)
    assert predict_proba(default_model().model, np.stack(digits)).argmax(axis=1).tolist() == [2, 0, 7]


@pytest.mark.parametrize("name, digits", [
    ("a 1 beside a 4: a short digit, not a part", [(TEMPLATES[1][0], 180, (100, 50)), (TEMPLATES[4][1], 180, (220, 50))]),
    ("four digits, the last a little smaller and higher", [(TEMPLATES[2][0], 120, (20, 80)),
                                                           (TEMPLATES[0][0], 120, (160, 80)),
                                                           (TEMPLATES[2][0], 120, (300, 80)),
                                                           (TEMPLATES[6][0], 100, (440, 85))]),
])
def test_a_number_written_on_one_line_is_split_into_its_digits(name, digits):
    assert len(canvas_to_digits(wide(*digits))) == len(digits), name


def test_a_dot_is_one_digit_alone_and_no_digit_beside_another():
    dot = [line((0.5, 0.5), (0.5, 0.5))]
    assert len(canvas_to_digits(wide((dot, 10, (300, 140))))) == 1  # as canvas_to_mnist: a (tiny) drawing
    assert len(canvas_to_digits(wide((TEMPLATES[1][0], 200, (200, 40)), (dot, 10, (300, 230))))) == 1


def _png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("data, words", [
    (b"GIF89a" + bytes(100), "not a PNG"),
    (b"\x89PNG\r\n\x1a\n" + bytes(3_000_000), "3.0 MB, more than a canvas drawing"),
    (_png(np.zeros((3000, 10), np.uint8)), "10x3000 px, larger than a canvas"),
    (_png(np.zeros((10, 10), np.uint8))[:40], "cannot be read"),  # cut short
])
def test_a_canvas_png_that_no_canvas_sends_is_refused(data, words):
    from mnist_core.canvas import canvas_png
    with pytest.raises(ValueError, match=words):
        canvas_png(data)


def test_a_canvas_png_reads_back_as_the_canvas_sent_it():
    from mnist_core.canvas import canvas_png
    rgba = np.zeros((280, 560, 4), np.uint8)
    rgba[100:150, 200:210, 3] = 255
    assert np.array_equal(canvas_png(_png(rgba)), rgba)
    with pytest.raises(ValueError, match="larger than a canvas"):
        canvas_to_digits(np.zeros((5000, 5000), np.uint8))  # no work on an image no canvas makes
