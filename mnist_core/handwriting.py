"""Real handwriting: digits written with a pen by 120 people (UNIPEN, shipped in assets/unipen).

Each digit is its pen strokes, so it can be drawn on the canvas at any size, position and brush,
as often as training needs. Writers, never single digits, are split three ways: training writers;
validation writers, on whom settings are chosen (they train only the shipped model, once its settings
are chosen); and test writers, who never train and choose nothing: every figure of how a model reads
real handwriting, the page's included, is theirs, read as the page reads a drawing.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .data import DataError, check_sha256
from .paths import UNIPEN_DIR
from .strokes import BRUSHES, CANVAS, CANVAS_WIDTH, CONVENTIONS, as_canvas, render

FILE = "unipen_digits.npz"
SUMS_FILE = "SHA256SUMS"
ARRAYS = ("points", "stroke_offsets", "digit_offsets", "labels", "sets", "writers")
SHARE = 0.25  # of each set's digits, at most, by whole writers, for validation and again for test
MAX_DIGITS = 150  # a writer with more always trains: held out, one person would weigh like ten
HEIGHTS = (0.4, 0.85)  # a drawing's height on the canvas, as a share of its side
MAX_WIDTH = 0.9


@dataclass(frozen=True)
class PenDigits:
    """Digits as pen strokes: strokes[i] is a list of (n, 2) float32 (x, y) arrays, y down, in a
    unit box (longer side 1, centred); labels (n,) uint8; writers (n,) "set/writer"."""

    strokes: tuple
    labels: np.ndarray
    writers: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, mask: np.ndarray) -> "PenDigits":
        idx = np.nonzero(mask)[0]
        return PenDigits(tuple(self.strokes[i] for i in idx), self.labels[idx], self.writers[idx])

    def joined(self, other: "PenDigits") -> "PenDigits":
        return PenDigits(self.strokes + other.strokes, np.concatenate([self.labels, other.labels]),
                         np.concatenate([self.writers, other.writers]))


def _verified_bytes(data_dir: Path) -> bytes:
    path = data_dir / FILE
    try:
        raw = path.read_bytes()
        sums = dict(line.split()[::-1] for line in (data_dir / SUMS_FILE).read_text().splitlines() if line.strip())
    except FileNotFoundError as e:
        raise DataError(f"{e.filename}: missing (the real-handwriting files belong in {data_dir})") from None
    except (OSError, ValueError) as e:
        raise DataError(f"{data_dir / SUMS_FILE}: cannot read the checksum list ({e})") from None
    check_sha256(path, raw, FILE, sums, data_dir / SUMS_FILE)
    return raw


def _decode(path: Path, raw: bytes) -> PenDigits:
    """Check the arrays' shapes and offsets (see assets/unipen/README.md) and cut them into digits."""
    import io
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as z:
            a = {k: z[k] for k in ARRAYS}
    except KeyError as e:
        raise DataError(f"{path}: lacks the array {e}") from None
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: not a readable .npz file ({e})") from None
    points, so, do = a["points"], a["stroke_offsets"], a["digit_offsets"]
    n = len(a["labels"])
    sound = (points.ndim == 2 and points.shape[1] == 2 and np.isfinite(points).all()
             and len(do) == n + 1 and do[0] == 0 and do[-1] == len(so) - 1 and (np.diff(do) >= 1).all()
             and so[0] == 0 and so[-1] == len(points) and (np.diff(so) >= 1).all()
             and len(a["sets"]) == n and len(a["writers"]) == n and a["labels"].min() >= 0 and a["labels"].max() <= 9)
    if not sound:
        raise DataError(f"{path}: its arrays do not fit together (shapes, offsets or labels): corrupt")
    pts = points.astype(np.float32)
    stroke_list = [pts[so[s]: so[s + 1]] for s in range(len(so) - 1)]
    strokes = tuple(stroke_list[do[i]: do[i + 1]] for i in range(n))
    writers = np.char.add(np.char.add(a["sets"].astype(str), "/"), a["writers"].astype(str))
    return PenDigits(strokes, a["labels"].astype(np.uint8), writers)


def load_handwriting(data_dir: str | Path | None = None) -> PenDigits:
    """Every real pen-written digit shipped with the project, verified against its SHA-256."""
    data_dir = Path(data_dir) if data_dir is not None else UNIPEN_DIR
    return _decode(data_dir / FILE, _verified_bytes(data_dir))


def _held_out(pen: PenDigits, salt: str, among: np.ndarray, prefer_full: bool = False) -> set[str]:
    """Whole writers kept out of training, fixed by their names and digits alone, chosen from `among`
    (a mask of pen's digits).

    In each set (institution) of three or more writers, writers are taken in the order of the SHA-256
    of salt + their "set/writer" name (with prefer_full, those who wrote at least 3 of every digit
    first), and each is held out if the set's held-out digits then stay within SHARE. Sets of one or
    two writers train, and so does a writer of more than MAX_DIGITS digits (a few wrote 500: held
    out, one would be a third of the measure)."""
    by_set: dict[str, list[tuple[bool, str, int]]] = {}
    for name in sorted(set(pen.writers[among].tolist())):
        labels = pen.labels[among & (pen.writers == name)]
        full = prefer_full and np.bincount(labels, minlength=10).min() >= 3
        by_set.setdefault(name.split("/")[0], []).append((not full, hashlib.sha256((salt + name).encode()).hexdigest(),
                                                          name, len(labels)))
    held = set()
    for members in by_set.values():
        if len(members) < 3:
            continue
        budget, taken = SHARE * sum(m[-1] for m in members), 0
        for *_, name, count in sorted(members):
            if count <= MAX_DIGITS and taken + count <= budget:
                held.add(name)
                taken += count
    return held


def validation_writers(pen: PenDigits) -> set[str]:
    """The writers settings are chosen on; they train only the shipped model, once its settings are chosen."""
    return _held_out(pen, "", np.ones(len(pen), bool))


def test_writers(pen: PenDigits) -> set[str]:
    """The writers every model is measured on and nothing is chosen on, from the writers that chose
    nothing; those with at least 3 of every digit first, so the writer-adaptation benchmark has people."""
    return _held_out(pen, "test/", ~np.isin(pen.writers, sorted(validation_writers(pen))), prefer_full=True)


@functools.lru_cache(maxsize=1)
def shipped_split() -> "Split":
    """writer_split of the shipped pen digits, read and verified once per process."""
    return writer_split(load_handwriting())


def split_key() -> str:
    """A hash of the validation and test writers' names: it changes if the split does."""
    split = shipped_split()
    names = [sorted(set(part.writers.tolist())) for part in (split.validation, split.test)]
    return hashlib.sha256(repr(names).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Split:
    """Real pen digits by writer, three ways: no writer is in two parts."""

    train: PenDigits  # train every model with real handwriting
    validation: PenDigits  # choose settings; train the shipped model only, once they are chosen
    test: PenDigits  # measure every model; never train, never choose anything


def writer_split(pen: PenDigits) -> Split:
    """pen's digits split by writer into training, validation and test writers."""
    val = np.isin(pen.writers, sorted(validation_writers(pen)))
    test = np.isin(pen.writers, sorted(test_writers(pen)))
    return Split(pen.subset(~val & ~test), pen.subset(val), pen.subset(test))


def place(strokes: list[np.ndarray], rng: np.random.Generator, brush: float, side: int = CANVAS,
          width: int | None = None) -> list[np.ndarray]:
    """Unit-box strokes -> pixels of a canvas `side` high and `width` (else side) wide: 40-85% of its
    height high (at most 90% of it wide), anywhere that keeps the whole drawing and the brush on it."""
    pts = np.concatenate(strokes)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    w, h = np.maximum(hi - lo, 1e-3)
    scale = min(rng.uniform(*HEIGHTS) * side / h, MAX_WIDTH * side / w)
    margin = brush / 2 + 2
    room = np.maximum(np.array([width or side, side]) - 2 * margin - (hi - lo) * scale, 0)
    offset = margin + rng.uniform(0, 1, 2) * room - lo * scale
    return [p * scale + offset for p in strokes]


def draw_on_canvas(strokes: list[np.ndarray], rng: np.random.Generator, convention: str | None = None,
                   side: int = CANVAS, scale: int = 2, width: int | None = None) -> np.ndarray:
    """One digit as the canvas would deliver it: placed at random on a canvas `side` high and `width`
    (else side) wide, drawn with a random brush of the canvas's widths (scaled to `side`), in the given
    (else a random) colour convention. uint8 image."""
    return draw_chosen(canvas_choices(strokes, rng, convention, side, width), side, scale, width)


def canvas_choices(strokes: list[np.ndarray], rng: np.random.Generator, convention: str | None = None,
                   side: int = CANVAS, width: int | None = None) -> tuple:
    """draw_on_canvas's random choices, taken from rng in its order: (placed strokes, brush, convention)."""
    brush = rng.uniform(*BRUSHES) * side / CANVAS
    placed = place(strokes, rng, brush, side, width)
    return placed, brush, convention if convention is not None else CONVENTIONS[rng.integers(len(CONVENTIONS))]


def draw_chosen(choices: tuple, side: int = CANVAS, scale: int = 2, width: int | None = None) -> np.ndarray:
    """canvas_choices drawn: the uint8 image. Nothing random is left, so threads can draw them in any order."""
    placed, brush, convention = choices
    return as_canvas(render(placed, brush=brush, scale=scale, side=side, width=width), convention)


HANDWRITING_COPIES = 8  # training's canvas drawings of each real pen digit; each epoch picks among them
RENDER_VERSION = 4  # bump when drawing, the conventions, canvas_to_mnist or canvas_to_digits change what comes out


def as_drawn_digits(pen: PenDigits, copies: int, seed: int = 0, workers: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Each digit drawn `copies` times as the canvas would deliver it (random size, position, brush
    and colour convention; now and then a writing convention the data is short of, see
    augment.writing_conventions), then prepared by canvas_to_mnist: ((copies * n, 28, 28) uint8, labels)."""
    from concurrent.futures import ThreadPoolExecutor

    from .augment import writing_conventions
    from .canvas import canvas_to_mnist
    n = len(pen)
    seeds = np.random.SeedSequence([seed, RENDER_VERSION]).spawn(copies * n)

    def one(k):
        rng = np.random.default_rng(seeds[k])
        i = k % n
        strokes = writing_conventions(pen.strokes[i], int(pen.labels[i]), rng)
        # At half the canvas's side: a quarter of the pixels, and canvas_to_mnist is scale-free.
        digit = canvas_to_mnist(draw_on_canvas(strokes, rng, side=CANVAS // 2))
        return np.zeros((28, 28), np.uint8) if digit is None else np.round(digit * 255).astype(np.uint8)

    with ThreadPoolExecutor(workers) as pool:  # PIL releases the GIL while it draws and filters
        x = np.stack(list(pool.map(one, range(copies * n), chunksize=256)))
    return x, np.tile(pen.labels, copies)


def as_drawn_digits_cached(pen: PenDigits, copies: int) -> tuple[np.ndarray, np.ndarray]:
    """as_drawn_digits(pen, copies), made once (about a minute for 8 copies of 5,400) and kept on disk."""
    from .paths import cached_array
    key = b"".join(np.concatenate(s).tobytes() for s in pen.strokes) + pen.labels.tobytes()
    x = cached_array("pen-drawn", key + f"{copies}/{RENDER_VERSION}".encode(),
                     lambda: as_drawn_digits(pen, copies)[0])
    return x, np.tile(pen.labels, copies)


COPIES = 2  # page-canvas drawings of each test or validation digit, in turn in each colour convention
BOOTSTRAP = 1000  # resamples of the writers for a figure's uncertainty


def page_canvases(part: PenDigits, copies: int = COPIES, seed: int = 2026):
    """part's digits drawn as on the Draw tab's canvas (CANVAS x CANVAS_WIDTH; random size, position and
    brush of the canvas's widths, the colour conventions in turn): yields (uint8 image, label), reproducibly."""
    for choices, label in page_choices(part, copies, seed):
        yield draw_chosen(choices, width=CANVAS_WIDTH), label


def page_choices(part: PenDigits, copies: int = COPIES, seed: int = 2026):
    """page_canvases's random choices (see canvas_choices), not yet drawn: yields (choices, label)."""
    rng = np.random.default_rng(seed)
    for c in range(copies):
        for i in range(len(part)):
            yield (canvas_choices(part.strokes[i], rng, CONVENTIONS[(c + i) % len(CONVENTIONS)], width=CANVAS_WIDTH),
                   int(part.labels[i]))


def read_as_page(canvas: np.ndarray) -> np.ndarray | None:
    """What the Draw tab reads of a canvas meant to hold one digit: its (28, 28) uint8 digit, or None if
    the page would read no digit, or a number of several (for one digit, that is wrong)."""
    from .canvas import canvas_to_digits
    digits = canvas_to_digits(canvas)
    return np.round(digits[0] * 255).astype(np.uint8) if len(digits) == 1 else None


@dataclass(frozen=True)
class ReadingSet:
    """Writers' digits as the page reads them: x (n, 28, 28) uint8 (blank where it read no single
    digit), y (n,) labels, one (n,) whether it read one digit, writers (n,) "set/writer"."""

    x: np.ndarray
    y: np.ndarray
    one: np.ndarray
    writers: np.ndarray


def reading_set(part_name: str = "test", part: PenDigits | None = None) -> ReadingSet:
    """The test (or validation) writers' digits through the page's path (page_canvases' drawings, read_as_page),
    made once (7-10 s on two cores) and kept on disk; or those of part, named part_name."""
    from concurrent.futures import ThreadPoolExecutor

    from .paths import cached_array
    part = part if part is not None else getattr(shipped_split(), part_name)

    def make():
        def one(item):  # drawn here, in the pool: drawing is most of the work
            digit = read_as_page(draw_chosen(item[0], width=CANVAS_WIDTH))
            return np.zeros((28, 28), np.uint8) if digit is None else digit, digit is not None
        with ThreadPoolExecutor(2) as pool:  # PIL, numpy and scipy release the GIL
            done = list(pool.map(one, page_choices(part), chunksize=64))
        # (n, 785): the image, then whether the page read one digit
        return np.concatenate([np.stack([d for d, _ in done]).reshape(-1, 784),
                               np.array([[k] for _, k in done], np.uint8)], axis=1)

    key = part.labels.tobytes() + b"".join(np.concatenate(s).tobytes() for s in part.strokes)
    a = cached_array(f"page-{part_name}", key + f"{COPIES}/{RENDER_VERSION}".encode(), make)
    return ReadingSet(a[:, :784].reshape(-1, 28, 28), np.tile(part.labels, COPIES), a[:, 784].astype(bool),
                      np.tile(part.writers, COPIES))


def reading_figures(model, part_name: str = "test", part: PenDigits | None = None) -> dict:
    """How the page reads part's writers with model, as plain data: accuracy (a drawing the page splits
    into several digits counts as wrong), per digit, a 95% interval from a bootstrap over writers (the
    writer is the unit: one person's digits are alike), kept as one digit, and how many. part: other
    writers than the split's, so named (see reading_set)."""
    s, _, right = _read(model, part_name, part)
    names, who = np.unique(s.writers, return_inverse=True)
    per_writer = np.bincount(who, right, len(names)), np.bincount(who, minlength=len(names))
    rng = np.random.default_rng(0)
    picks = rng.integers(len(names), size=(BOOTSTRAP, len(names)))
    resampled = per_writer[0][picks].sum(axis=1) / per_writer[1][picks].sum(axis=1)
    low, high = np.percentile(resampled, [2.5, 97.5])
    per_digit = [float(right[s.y == d].mean()) for d in range(10)]
    return {"accuracy": round(float(right.mean()), 4), "interval": [round(float(low), 4), round(float(high), 4)],
            "per_digit": [round(a, 4) for a in per_digit], "one_digit": round(float(s.one.mean()), 4),
            "drawings": int(len(s.y)), "digits": int(len(s.y) // COPIES), "writers": int(len(names)),
            "part": part_name}


def _read(model, part_name: str, part: PenDigits | None = None) -> tuple[ReadingSet, dict, np.ndarray]:
    """part's reading set, model's measure of it, and (n,) whether the page read each drawing right (one digit,
    the right one)."""
    from .evaluate import measure
    s = reading_set(part_name, part)
    m = measure(model, s.x, s.y)
    return s, m, m["correct"] & s.one


def misread_by_writer(model, part_name: str = "test") -> dict:
    """Whose drawings the page misreads: {"drawings": how many were read, "writers": by how many people,
    "by_writer": {writer: [(the 28x28 image the page gives the network, the right digit, what the page showed:
    a digit, or "split" where it read more than one)]}}, writers with the most first."""
    s, m, right = _read(model, part_name)
    found = {}
    for i in np.nonzero(~right)[0]:
        found.setdefault(str(s.writers[i]), []).append(
            (s.x[i], int(s.y[i]), str(m["predicted"][i]) if s.one[i] else "split"))
    return {"drawings": int(len(s.y)), "writers": int(len(np.unique(s.writers))),
            "by_writer": dict(sorted(found.items(), key=lambda kv: (-len(kv[1]), kv[0])))}


def real_handwriting_figures(model) -> dict:
    """How the page reads the test writers with model: reading_figures of the test writers."""
    return reading_figures(model, "test")
