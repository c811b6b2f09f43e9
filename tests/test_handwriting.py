"""Real handwriting: the shipped pen digits, the writer split, canvas drawings and the conventions."""

import hashlib
import io
import shutil

import numpy as np
import pytest

from mnist_core import DataError, canvas_to_mnist, default_model, handwriting
from mnist_core.augment import is_bare_one, with_slash, with_up_stroke, writing_conventions
from mnist_core.handwriting import (
    FILE,
    MAX_DIGITS,
    SHARE,
    SUMS_FILE,
    PenDigits,
    draw_on_canvas,
    load_handwriting,
    misread_by_writer,
    reading_figures,
    validation_writers,
    writer_split,
)
from mnist_core.paths import UNIPEN_DIR
from mnist_core.strokes import CANVAS, CONVENTIONS, as_canvas, render


@pytest.fixture(scope="module")
def pen():
    return load_handwriting()


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_each_colour_convention_is_the_ink_mixed_into_its_colours(convention):
    """as_canvas, worked out a channel at a time, gives the bytes of the plain formula (the ink times the pen's
    colour plus one minus the ink times the paper's, rounded) for every ink value render gives (k/255)."""
    ink = (np.arange(256, dtype=np.float32) / 255).reshape(16, 16)
    a = ink[..., None]
    expected = {"rgba-transparent": np.concatenate([np.zeros_like(a), np.zeros_like(a), np.zeros_like(a), a], -1),
                "black-on-white": 1 - a * np.ones(3), "white-on-black": a * np.ones(3),
                "colour-on-grey": (1 - a) * np.array([0.85, 0.85, 0.85]) + a * np.array([0.1, 0.2, 0.8])}[convention]
    assert np.array_equal(as_canvas(ink, convention), (expected * 255).round().astype(np.uint8))


def test_the_shipped_pen_digits_are_as_documented(pen):
    """assets/unipen/README.md: 6,731 digits 0-9 by 120 writers, strokes in a unit box."""
    assert len(pen) == 6731 and len(set(pen.writers.tolist())) == 120
    assert pen.labels.dtype == np.uint8 and set(pen.labels.tolist()) == set(range(10))
    assert np.bincount(pen.labels).min() > 600  # every digit well represented
    for strokes in pen.strokes[:200]:
        pts = np.concatenate(strokes)
        assert pts.shape[1] == 2 and pts.min() >= -1e-4 and pts.max() <= 1 + 1e-4
        assert max(np.ptp(pts[:, 0]), np.ptp(pts[:, 1])) == pytest.approx(1, abs=0.01)  # longer side 1 (points thinned)


def _rewrite(folder, arrays=None, raw=None, fix_sum=True):
    """Write a new unipen file into folder (arrays as an .npz, or raw bytes), and its checksum if fix_sum."""
    if raw is None:
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        raw = buf.getvalue()
    (folder / FILE).write_bytes(raw)
    if fix_sum:
        (folder / SUMS_FILE).write_text(f"{hashlib.sha256(raw).hexdigest()}  {FILE}\n")


def _arrays():
    with np.load(UNIPEN_DIR / FILE) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.parametrize("damage, words", [
    ("missing file", "missing"),
    ("missing checksums", "missing"),
    ("flipped byte", "SHA-256"),  # same size, wrong content
    ("truncated", "SHA-256"),
    ("not an npz, checksum matches", "not a readable .npz"),
    ("an array missing, checksum matches", "lacks the array"),
    ("offsets past the points, checksum matches", "do not fit together"),
    ("a label of 12, checksum matches", "do not fit together"),
])
def test_a_damaged_file_raises_naming_the_file_and_the_fault(tmp_path, damage, words):
    folder = tmp_path / "unipen"
    shutil.copytree(UNIPEN_DIR, folder)
    raw = (folder / FILE).read_bytes()
    a = _arrays()
    if damage == "missing file":
        (folder / FILE).unlink()
    elif damage == "missing checksums":
        (folder / SUMS_FILE).unlink()
    elif damage == "flipped byte":
        _rewrite(folder, raw=raw[:-100] + bytes([raw[-100] ^ 0xFF]) + raw[-99:], fix_sum=False)
    elif damage == "truncated":
        _rewrite(folder, raw=raw[: len(raw) // 2], fix_sum=False)
    elif damage.startswith("not an npz"):
        _rewrite(folder, raw=b"not a zip file" * 100)
    elif damage.startswith("an array missing"):
        del a["writers"]
        _rewrite(folder, a)
    elif damage.startswith("offsets past"):
        a["stroke_offsets"] = a["stroke_offsets"] + 5
        _rewrite(folder, a)
    else:
        a["labels"][7] = 12
        _rewrite(folder, a)
    with pytest.raises(DataError, match=words) as e:
        load_handwriting(folder)
    assert "unipen" in str(e.value)


def test_the_writer_split_keeps_every_writer_in_one_part(pen):
    split = writer_split(pen)
    parts = (split.train, split.validation, split.test)
    assert sum(map(len, parts)) == len(pen)
    names = [set(p.writers.tolist()) for p in parts]
    assert not (names[0] & names[1] or names[0] & names[2] or names[1] & names[2])  # no writer in two parts
    assert len(names[1]) == 31 and len(split.validation) == 914  # the writers held out before: they chose settings
    for part in parts[1:]:
        assert np.bincount(part.labels, minlength=10).min() >= 50  # enough of every digit to measure
        assert max(np.unique(part.writers, return_counts=True)[1]) <= MAX_DIGITS  # no one writer dominates
        for s in {w.split("/")[0] for w in pen.writers.tolist()}:  # at most a quarter of any set's digits
            in_set = np.char.startswith(pen.writers.astype(str), s + "/")
            assert np.isin(pen.writers[in_set], part.writers).sum() <= SHARE * in_set.sum()
    full = [w for w in names[2] if np.bincount(split.test.labels[split.test.writers == w], minlength=10).min() >= 3]
    assert len(full) >= 7  # people to adapt to in the writer-adaptation benchmark


def test_the_split_depends_only_on_the_writers_and_their_digits(pen):
    order = np.random.default_rng(0).permutation(len(pen))
    shuffled = PenDigits(tuple(pen.strokes[i] for i in order), pen.labels[order], pen.writers[order])
    assert handwriting.test_writers(shuffled) == handwriting.test_writers(pen) and validation_writers(shuffled) == validation_writers(pen)


def test_a_pen_digit_drawn_on_the_canvas_fits_it_at_a_human_size(pen):
    rng = np.random.default_rng(0)
    for i in range(0, 600, 20):
        image = draw_on_canvas(pen.strokes[i], rng, "white-on-black")
        rows, cols = np.nonzero(image.max(axis=2) > 128)
        height, width = np.ptp(rows), np.ptp(cols)
        assert image.shape == (CANVAS, CANVAS, 3)
        assert rows.min() > 0 and cols.min() > 0 and rows.max() < CANVAS - 1 and cols.max() < CANVAS - 1
        assert 0.4 * CANVAS - 28 < max(height, width) and height <= 0.85 * CANVAS + 28  # 40-85% high, plus the brush
        assert canvas_to_mnist(image) is not None


def _ink(strokes):
    """Strokes in a unit box, drawn into a 100 px square with a 20 px margin: (100, 100) ink."""
    return render([s * 60 + 20 for s in strokes], brush=4, side=100)


RING = [np.stack([0.5 + 0.3 * np.cos(t), 0.5 + 0.5 * np.sin(t)], 1) for t in [np.linspace(0, 2 * np.pi, 60)]]
STEM = [np.array([[0.5, 0.0], [0.5, 1.0]], np.float32)]
FLAGGED = [np.array([[0.3, 0.25], [0.5, 0.0], [0.5, 1.0]], np.float32)]


def _seed_of(kind: str) -> int:
    """A seed whose first draw makes with_slash draw this kind of slash (it draws the kind first)."""
    bounds = {"rising": (0, 0.5), "upright": (0.5, 0.75), "across": (0.75, 1)}[kind]
    return next(s for s in range(100) if bounds[0] <= np.random.default_rng(s).random() < bounds[1])


@pytest.mark.parametrize("name, strokes, kind", [
    ("slash through a 0 (Ø)", RING, "rising"),
    ("upright stroke through a small 0 (φ)", RING, "upright"),
    ("bar across a 0 (θ)", RING, "across"),
    ("up-stroke on a 1", STEM, "first"),
    ("up-stroke on a 1", STEM, "second"),
])
def test_each_convention_adds_what_it_claims(name, strokes, kind):
    rng = np.random.default_rng(_seed_of(kind) if kind in ("rising", "upright", "across") else len(kind))
    name = "slash" if kind in ("rising", "upright", "across") else name
    before = _ink(strokes)
    if name == "slash":  # a line of its kind through the inside of the ring, where a plain 0 has no ink
        slashed = with_slash(strokes, rng)
        line, (lo, hi) = slashed[-1], (RING[0].min(axis=0), RING[0].max(axis=0))
        after = _ink(slashed)
        inside = np.zeros_like(before, bool)
        inside[45:55, 45:55] = True
        assert before[inside].max() == 0 and after[inside].max() > 0.9
        dx, dy = np.ptp(line[:, 0]), np.ptp(line[:, 1])
        if kind == "rising":  # bottom left to top right (y down)
            rows, cols = np.nonzero((after - before) > 0.5)
            assert np.polyfit(cols, rows, 1)[0] < -0.8
        elif kind == "upright":  # from above the ring to below it
            assert dy > 3 * dx and line[:, 1].min() < lo[1] and line[:, 1].max() > hi[1]
        else:  # across, past both sides
            assert dx > 3 * dy and line[:, 0].min() < lo[0] and line[:, 0].max() > hi[0]
    else:  # a long stroke down to the left of the top: ink left of the stem in the upper half
        after = _ink(with_up_stroke(strokes, rng))
        rows, cols = np.nonzero((after - before) > 0.5)
        assert cols.min() < 50 - 10 and rows.max() < 20 + 60 * 0.7 and rows.min() <= 22
        assert np.ptp(rows) >= 0.3 * 60  # long: at least a third of the digit's height
    assert (after >= before - 1e-6).all()  # the digit itself is untouched


@pytest.mark.parametrize("strokes, bare", [(STEM, True), (FLAGGED, False), (RING, False)])
def test_only_bare_ones_get_an_up_stroke(strokes, bare):
    assert is_bare_one(strokes) == bare


@pytest.mark.parametrize("label, strokes, share", [(0, RING, 0.5), (1, STEM, 0.3), (1, FLAGGED, 0), (7, STEM, 0)])
def test_conventions_come_now_and_then(label, strokes, share):
    rng = np.random.default_rng(0)
    changed = np.mean([len(writing_conventions(strokes, label, rng)) > len(strokes) for _ in range(2000)])
    assert changed == pytest.approx(share, abs=0.04)


def test_training_adds_drawn_real_handwriting_to_every_epoch(mnist):
    from mnist_core import TrainConfig
    from mnist_core.train import epoch_images
    (x, y), _ = mnist
    pool = (np.full((50, 28, 28), 7, np.uint8), np.full(50, 3, np.uint8))  # recognisable stand-ins
    config = TrainConfig(epochs=2, real_handwriting=0.1)
    epochs = list(epoch_images(config, x[:1000], y[:1000], handwriting=pool))
    assert len(epochs) == 2
    for xe, ye in epochs:
        assert xe.shape == (1100, 28, 28) and ye.shape == (1100,)
        assert np.array_equal(xe[:1000], x[:1000]) and (xe[1000:] == 7).all() and (ye[1000:] == 3).all()


def test_the_misread_drawings_are_the_figures_errors_by_writer():
    """What the page's Where it fails tab and `benchmarks handwriting` show: every drawing the test writers' figure
    counts wrong, under its writer, the writers with most first."""
    model = default_model().model
    f, misread = reading_figures(model), misread_by_writer(model)
    assert (misread["drawings"], misread["writers"]) == (f["drawings"], f["writers"])
    by_writer = misread["by_writer"]
    assert sum(map(len, by_writer.values())) == round((1 - f["accuracy"]) * f["drawings"]) > 0
    assert [len(v) for v in by_writer.values()] == sorted(map(len, by_writer.values()), reverse=True)
    assert set(by_writer) <= set(handwriting.shipped_split().test.writers.tolist())
    for image, right, shown in (d for v in by_writer.values() for d in v):
        assert image.shape == (28, 28) and image.dtype == np.uint8 and shown != str(right)
