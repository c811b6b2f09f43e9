"""Real handwriting: the shipped pen digits, the writer split, canvas drawings and the conventions."""

import hashlib
import io
import shutil

import numpy as np
import pytest

from mnist_core import DataError, canvas_to_mnist
from mnist_core.augment import is_bare_one, with_slash, with_up_stroke, writing_conventions
from mnist_core.handwriting import (
    FILE,
    HELD_OUT_MAX_DIGITS,
    HELD_OUT_SHARE,
    SUMS_FILE,
    draw_on_canvas,
    held_out_writers,
    load_handwriting,
    writer_split,
)
from mnist_core.paths import UNIPEN_DIR
from mnist_core.strokes import CANVAS, render


@pytest.fixture(scope="module")
def pen():
    return load_handwriting()


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


def test_the_writer_split_keeps_every_writer_on_one_side(pen):
    train, held = writer_split(pen)
    assert len(train) + len(held) == len(pen)
    assert not set(train.writers.tolist()) & set(held.writers.tolist())  # no writer on both sides
    assert len(set(held.writers.tolist())) == 31 and len(held) == 914  # as documented
    assert np.bincount(held.labels, minlength=10).min() >= 80  # enough of every digit to measure
    assert max(np.unique(held.writers, return_counts=True)[1]) <= HELD_OUT_MAX_DIGITS  # no one writer dominates
    for s in {w.split("/")[0] for w in pen.writers.tolist()}:  # at most a quarter of any set's digits
        in_set = np.char.startswith(pen.writers.astype(str), s + "/")
        assert np.isin(pen.writers[in_set], held.writers).sum() <= HELD_OUT_SHARE * in_set.sum()


def test_the_split_depends_only_on_the_writers_names(pen):
    shuffled = np.random.default_rng(0).permutation(pen.writers)
    assert held_out_writers(shuffled) == held_out_writers(pen.writers)


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


@pytest.mark.parametrize("name, strokes, seed", [
    ("slash through a 0", RING, 0),
    ("slash through a 0", RING, 1),
    ("slash through a 0", RING, 2),
    ("up-stroke on a 1", STEM, 0),
    ("up-stroke on a 1", STEM, 1),
])
def test_each_convention_adds_what_it_claims(name, strokes, seed):
    rng = np.random.default_rng(seed)
    before = _ink(strokes)
    if name == "slash through a 0":  # ink inside the ring, where a plain 0 has none, along a rising line
        after = _ink(with_slash(strokes, rng))
        inside = np.zeros_like(before, bool)
        inside[40:60, 40:60] = True
        assert before[inside].max() == 0 and after[inside].max() > 0.9
        rows, cols = np.nonzero((after - before) > 0.5)
        assert np.polyfit(cols, rows, 1)[0] < -0.8  # bottom left to top right (y down)
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
