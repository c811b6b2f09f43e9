"""Numbers of 2-4 digits drawn side by side: does canvas_to_digits split them, and are they read right?

Two sources, reproducibly: our generated digit drawings (synthetic.random_drawing), and real pen
digits by the 31 held-out writers (each number by one writer). Each digit is drawn as on the canvas
(random height, position and brush), the digits put side by side with gaps of 4-40 canvas pixels,
in one of the canvas's colour conventions.
"""

from __future__ import annotations

import numpy as np

from mnist_core import canvas_to_digits, predict_proba
from mnist_core.handwriting import place, shipped_split
from mnist_core.strokes import BRUSHES, CONVENTIONS, as_canvas, render

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
    """(canvas, digits) for n numbers of our generated drawings."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        digits = rng.integers(0, 10, int(rng.integers(2, 5)))
        inks = []
        for d in digits:
            strokes, brush = random_drawing(int(d), rng)
            inks.append(render(strokes, brush=brush))
        yield number_canvas(inks, rng), digits.tolist()


def handwriting_numbers(n: int, seed: int):
    """(canvas, digits) for n numbers written by one held-out writer each."""
    _, held = shipped_split()
    writers = sorted(set(held.writers.tolist()))
    rng = np.random.default_rng(seed)
    for _ in range(n):
        mine = np.nonzero(held.writers == writers[int(rng.integers(len(writers)))])[0]
        picks = rng.choice(mine, int(rng.integers(2, 5)))
        inks = []
        for i in picks:
            brush = rng.uniform(*BRUSHES)
            inks.append(render(place(held.strokes[i], rng, brush), brush=brush))
        yield number_canvas(inks, rng), [int(held.labels[i]) for i in picks]


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
                          ("real handwriting, 31 held-out writers", handwriting_numbers(n, seed))):
        m = measure_numbers(model, numbers)
        print(f"{name:<38}{m['split']:>12.1%}{m['read']:>12.1%}")
        for digits, found in m["examples"]:
            print(f"    {''.join(map(str, digits))} split into {found}")
    return 0
