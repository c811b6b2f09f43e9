"""Real handwriting: digits written with a pen by 120 people (UNIPEN, shipped in assets/unipen).

Each digit is its pen strokes, so it can be drawn on the canvas at any size, position and brush,
as often as training needs. Writers, never single digits, are split into a training part and a
held-out part: a digit by a held-out writer measures how the network reads people it never saw.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .data import DataError, check_sha256
from .paths import UNIPEN_DIR
from .strokes import BRUSHES, CANVAS, CONVENTIONS, as_canvas, render

FILE = "unipen_digits.npz"
SUMS_FILE = "SHA256SUMS"
ARRAYS = ("points", "stroke_offsets", "digit_offsets", "labels", "sets", "writers")
HELD_OUT_SHARE = 0.25  # of each set's digits, at most, by whole writers
HELD_OUT_MAX_DIGITS = 150  # a writer with more always trains: held out, one person would weigh like ten
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


def held_out_writers(writers: np.ndarray) -> set[str]:
    """The writers kept out of training, fixed by their names alone.

    In each set (institution) of three or more writers, writers are taken in the order of the
    SHA-256 of their "set/writer" name, and each is held out if the set's held-out digits then stay
    within HELD_OUT_SHARE. Sets of one or two writers train, and so does a writer of more than
    HELD_OUT_MAX_DIGITS digits (a few wrote 500: held out, one would be a third of the measure)."""
    names, counts = np.unique(writers, return_counts=True)
    by_set: dict[str, list[tuple[str, int]]] = {}
    for name, count in zip(names.tolist(), counts.tolist()):
        by_set.setdefault(name.split("/")[0], []).append((name, count))
    held = set()
    for members in by_set.values():
        if len(members) < 3:
            continue
        budget, taken = HELD_OUT_SHARE * sum(c for _, c in members), 0
        for name, count in sorted(members, key=lambda m: hashlib.sha256(m[0].encode()).hexdigest()):
            if count <= HELD_OUT_MAX_DIGITS and taken + count <= budget:
                held.add(name)
                taken += count
    return held


@functools.lru_cache(maxsize=1)
def shipped_split() -> tuple[PenDigits, PenDigits]:
    """writer_split of the shipped pen digits, read and verified once per process."""
    return writer_split(load_handwriting())


def split_key() -> str:
    """A hash of the held-out writers' names: it changes if the split does."""
    return hashlib.sha256("\n".join(sorted(set(shipped_split()[1].writers.tolist()))).encode()).hexdigest()[:16]


def writer_split(pen: PenDigits) -> tuple[PenDigits, PenDigits]:
    """(training writers' digits, held-out writers' digits); no writer is on both sides."""
    held = np.isin(pen.writers, sorted(held_out_writers(pen.writers)))
    return pen.subset(~held), pen.subset(held)


def place(strokes: list[np.ndarray], rng: np.random.Generator, brush: float,
          side: int = CANVAS) -> list[np.ndarray]:
    """Unit-box strokes -> canvas pixels: 40-85% of the canvas high (at most 90% wide), anywhere
    that keeps the whole drawing and the brush on the canvas."""
    pts = np.concatenate(strokes)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    w, h = np.maximum(hi - lo, 1e-3)
    scale = min(rng.uniform(*HEIGHTS) * side / h, MAX_WIDTH * side / w)
    margin = brush / 2 + 2
    room = np.maximum(side - 2 * margin - (hi - lo) * scale, 0)
    offset = margin + rng.uniform(0, 1, 2) * room - lo * scale
    return [p * scale + offset for p in strokes]


def draw_on_canvas(strokes: list[np.ndarray], rng: np.random.Generator, convention: str | None = None,
                   side: int = CANVAS, scale: int = 2) -> np.ndarray:
    """One digit as the canvas would deliver it: placed at random, drawn with a random brush of the
    canvas's widths (scaled to `side`), in the given (else a random) colour convention. uint8 image."""
    brush = rng.uniform(*BRUSHES) * side / CANVAS
    ink = render(place(strokes, rng, brush, side), brush=brush, scale=scale, side=side)
    return as_canvas(ink, convention if convention is not None else CONVENTIONS[rng.integers(len(CONVENTIONS))])


RENDER_VERSION = 3  # bump when drawing, the conventions or canvas_to_mnist change what comes out


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


HELD_OUT_COPIES = 2  # canvas drawings of each held-out digit, in turn in each colour convention


def held_out_canvases(copies: int = HELD_OUT_COPIES, seed: int = 2026):
    """The held-out writers' digits as canvas drawings (280 px, random size, position and brush of
    the canvas's widths, the colour conventions in turn): yields (uint8 image, label), reproducibly."""
    _, held = shipped_split()
    rng = np.random.default_rng(seed)
    for c in range(copies):
        for i in range(len(held)):
            yield draw_on_canvas(held.strokes[i], rng, CONVENTIONS[(c + i) % len(CONVENTIONS)]), int(held.labels[i])


def held_out_set() -> tuple[np.ndarray, np.ndarray]:
    """held_out_canvases() prepared by canvas_to_mnist: ((n, 28, 28) uint8, (n,) labels), made once
    (about 20 s) and kept on disk."""
    from concurrent.futures import ThreadPoolExecutor

    from .canvas import canvas_to_mnist
    from .paths import cached_array

    def prepare(item):
        digit = canvas_to_mnist(item[0])
        return np.zeros((28, 28), np.uint8) if digit is None else np.round(digit * 255).astype(np.uint8)

    def make():
        with ThreadPoolExecutor(2) as pool:
            return np.stack(list(pool.map(prepare, held_out_canvases(), chunksize=64)))

    held = shipped_split()[1]
    key = held.labels.tobytes() + b"".join(np.concatenate(s).tobytes() for s in held.strokes)
    x = cached_array("held-out", key + f"{HELD_OUT_COPIES}/{RENDER_VERSION}".encode(), make)
    return x, np.tile(held.labels, HELD_OUT_COPIES)


def real_handwriting_figures(model) -> dict:
    """How model reads the held-out writers' canvas drawings: accuracy and per digit, plain data."""
    from .evaluate import measure
    x, y = held_out_set()
    m = measure(model, x, y)
    return {"accuracy": round(m["accuracy"], 4), "per_digit": [round(float(a), 4) for a in m["per_digit"]],
            "drawings": int(len(y)), "writers": len(set(shipped_split()[1].writers.tolist()))}
