"""Numbers of 2-4 digits drawn side by side: does canvas_to_digits split them, and are they read right?

Two sources, reproducibly: our generated digit drawings (synthetic.random_drawing), and real pen
digits by the test writers (each number by one writer). Each number is written as people write one
on the canvas (write_number): one height, one line, gaps of 4-40 canvas pixels, one brush, in one of
the canvas's colour conventions.
"""

from __future__ import annotations

import numpy as np

from mnist_core import canvas_to_digits, predict_proba
from mnist_core.handwriting import HEIGHTS, shipped_split
from mnist_core.strokes import BRUSHES, CANVAS, CANVAS_WIDTH, CONVENTIONS, as_canvas, render

from .synthetic import random_drawing

GAPS = (4, 40)  # canvas pixels between neighbouring digits


def number_canvas(inks: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Digits' (H, W) ink images, each cropped to its columns, side by side -> a uint8 canvas."""
    parts = [np.zeros((inks[0].shape[0], 20), np.float32)]
    for k, ink in enumerate(inks):
        cols = np.nonzero(ink.max(axis=0) > 0)[0]
        if k:
            parts.append(np.zeros((ink.shape[0], int(rng.integers(*GAPS))), np.float32))
        parts.append(ink[:, cols.min(): cols.max() + 1])
    parts.append(parts[0])
    return as_canvas(np.hstack(parts), CONVENTIONS[int(rng.integers(len(CONVENTIONS)))])


def synthetic_numbers(n: int, seed: int):
    """(canvas, digits) for n numbers of our generated drawings, written as a number is (write_number)."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        digits = rng.integers(0, 10, int(rng.integers(2, 5)))
        shapes = []
        for d in digits:
            strokes, _ = random_drawing(int(d), rng)
            pts = np.concatenate(strokes)
            lo, side = pts.min(axis=0), np.ptp(pts, axis=0).max()
            shapes.append([(s - lo) / side for s in strokes])  # canvas pixels -> a unit box
        yield write_number(shapes, rng), digits.tolist()


def write_number(strokes: list[list[np.ndarray]], rng: np.random.Generator) -> np.ndarray:
    """One writer's digits (unit-box strokes) written as a number on the page's canvas: one height for
    the number (each digit within 15% of it, so it fits the canvas), one line (bottoms within 8% of
    it), gaps of GAPS px, one brush and colour convention -> a uint8 canvas."""
    brush = rng.uniform(*BRUSHES)
    boxes = [(np.concatenate(s).min(axis=0), np.concatenate(s).max(axis=0)) for s in strokes]
    widths = sum(max(hi[0] - lo[0], 0.05) / max(hi[1] - lo[1], 0.05) for lo, hi in boxes)  # per unit of height
    room = (CANVAS_WIDTH - 40 - len(strokes) * (GAPS[1] + brush)) / widths
    height = min(rng.uniform(*HEIGHTS) * CANVAS, room)
    x, placed = 20 + brush / 2, []
    for digit, (lo, hi) in zip(strokes, boxes):
        scale = height * rng.uniform(0.85, 1.15) / max(hi[1] - lo[1], 0.05)
        bottom = (CANVAS + height) / 2 + rng.uniform(-0.08, 0.08) * height
        offset = np.array([x - lo[0] * scale, bottom - hi[1] * scale])
        placed += [p * scale + offset for p in digit]
        x += (hi[0] - lo[0]) * scale + rng.uniform(*GAPS) + brush
    ink = render(placed, brush=brush, side=CANVAS, width=CANVAS_WIDTH)
    return as_canvas(ink, CONVENTIONS[int(rng.integers(len(CONVENTIONS)))])


def handwriting_numbers(n: int, seed: int):
    """(canvas, digits) for n numbers of 2-4 digits written by one test writer each."""
    test = shipped_split().test
    writers = sorted(set(test.writers.tolist()))
    rng = np.random.default_rng(seed)
    for _ in range(n):
        mine = np.nonzero(test.writers == writers[int(rng.integers(len(writers)))])[0]
        picks = rng.choice(mine, int(rng.integers(2, 5)))
        yield write_number([test.strokes[i] for i in picks], rng), [int(test.labels[i]) for i in picks]


def measure_numbers(model, numbers) -> dict:
    split = read = total = 0
    wrong_count = []
    for canvas, digits in numbers:
        found = canvas_to_digits(canvas)
        total += 1
        if len(found) == len(digits):
            split += 1
            read += predict_proba(model, np.stack(found)).argmax(axis=1).tolist() == digits
        elif len(wrong_count) < 5:
            wrong_count.append((digits, len(found)))
    return {"numbers": total, "split": split / total, "read": read / total, "examples": wrong_count}


def print_benchmark(model, n: int = 300, seed: int = 2026) -> int:
    print(f"Numbers of 2-4 digits side by side (gaps {GAPS[0]}-{GAPS[1]} px), {n} from each source, seed {seed}")
    print(f"{'source':<38}{'split right':>12}{'read right':>12}")
    for name, numbers in (("our generated drawings", synthetic_numbers(n, seed)),
                          ("real handwriting, test writers", handwriting_numbers(n, seed))):
        m = measure_numbers(model, numbers)
        print(f"{name:<38}{m['split']:>12.1%}{m['read']:>12.1%}")
        for digits, found in m["examples"]:
            print(f"    {''.join(map(str, digits))} split into {found}")
    return 0
