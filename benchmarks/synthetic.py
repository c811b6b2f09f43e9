"""A reproducible benchmark of canvas-like drawings: digits drawn as pen strokes.

Each digit has a few stroke templates (the common ways people write it) in a unit box; every
drawing warps one with random slant, rotation, proportions, wobble, size, position and brush
width (12-28 px on a 280 px canvas), then renders it the way the canvas does (round, anti-aliased
strokes) in one of its colour conventions. Nothing here was trained on.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from mnist_core.strokes import CANVAS, CONVENTIONS, as_canvas, render, restroke

TAU = 2 * np.pi


def _arc(cx, cy, rx, ry, start, end, n=40):
    """Points of an elliptical arc; angles in degrees, y down (90 is the bottom, 270 the top)."""
    t = np.deg2rad(np.linspace(start, end, n))
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _bezier(*ctrl, n=30):
    """Points of a quadratic or cubic Bezier curve through control points."""
    p = np.array(ctrl, dtype=float)
    t = np.linspace(0, 1, n)[:, None]
    if len(p) == 3:
        return (1 - t) ** 2 * p[0] + 2 * (1 - t) * t * p[1] + t ** 2 * p[2]
    return (1 - t) ** 3 * p[0] + 3 * (1 - t) ** 2 * t * p[1] + 3 * (1 - t) * t ** 2 * p[2] + t ** 3 * p[3]


def _line(*pts, n=20):
    """A polyline, densely sampled so that wobble bends it."""
    out = [np.linspace(a, b, n, endpoint=False) for a, b in zip(pts[:-1], pts[1:])]
    return np.concatenate(out + [np.array([pts[-1]], dtype=float)])


def _cat(*parts):
    return np.concatenate(parts)


def _eight(n=80):
    t = np.linspace(0, TAU, n)
    return np.stack([0.5 + 0.33 * np.sin(2 * t) * np.where(t < np.pi, 0.9, 1.1),
                     0.5 - 0.5 * np.cos(t)], axis=1)


# digit -> styles; a style is a list of strokes; a stroke is an (n, 2) array of (x, y) in [0, 1].
TEMPLATES: dict[int, list[list[np.ndarray]]] = {
    0: [[_arc(0.5, 0.5, 0.34, 0.5, 260, 630)],
        [_arc(0.5, 0.5, 0.4, 0.48, -90, 280)]],
    1: [[_line((0.5, 0.0), (0.5, 1.0))],
        [_line((0.25, 0.25), (0.55, 0.0), (0.55, 1.0))],
        [_line((0.3, 0.2), (0.55, 0.0), (0.55, 1.0)), _line((0.25, 1.0), (0.85, 1.0))]],
    2: [[_cat(_arc(0.5, 0.3, 0.38, 0.3, 200, 395), _line((0.84, 0.42), (0.08, 1.0), (0.92, 1.0)))],
        [_cat(_arc(0.48, 0.28, 0.36, 0.28, 190, 380), _bezier((0.83, 0.37), (0.6, 0.7), (0.1, 1.0)),
              _bezier((0.1, 1.0), (0.3, 0.85), (0.5, 0.95), (0.92, 0.98)))]],
    3: [[_cat(_arc(0.5, 0.26, 0.36, 0.26, 200, 450), _arc(0.5, 0.74, 0.42, 0.26, 270, 520))],
        [_cat(_line((0.15, 0.0), (0.85, 0.0), (0.45, 0.42)), _arc(0.5, 0.71, 0.4, 0.29, 260, 520))]],
    4: [[_line((0.62, 0.0), (0.08, 0.68), (0.92, 0.68)), _line((0.66, 0.3), (0.66, 1.0))],
        [_line((0.2, 0.0), (0.14, 0.6), (0.88, 0.6)), _line((0.72, 0.0), (0.72, 1.0))]],
    5: [[_cat(_line((0.85, 0.0), (0.25, 0.0), (0.2, 0.45)), _arc(0.5, 0.68, 0.36, 0.32, 215, 500))],
        [_line((0.25, 0.02), (0.22, 0.45)), _arc(0.5, 0.69, 0.36, 0.31, 215, 500),
         _line((0.25, 0.0), (0.85, 0.02))]],
    6: [[_cat(_bezier((0.78, 0.0), (0.25, 0.15), (0.13, 0.7)), _arc(0.5, 0.7, 0.37, 0.3, 180, -180))],
        [_cat(_bezier((0.7, 0.0), (0.35, 0.3), (0.16, 0.75)), _arc(0.48, 0.74, 0.32, 0.26, 160, 520))]],
    7: [[_line((0.1, 0.0), (0.9, 0.0), (0.35, 1.0))],
        [_line((0.1, 0.0), (0.9, 0.0), (0.4, 1.0)), _line((0.32, 0.5), (0.82, 0.5))],
        [_line((0.08, 0.18), (0.1, 0.0), (0.92, 0.02), (0.5, 1.0))]],
    8: [[_eight()],
        [_arc(0.5, 0.24, 0.3, 0.24, 0, 360), _arc(0.5, 0.73, 0.38, 0.27, -90, 270)]],
    9: [[_arc(0.5, 0.3, 0.33, 0.29, 0, 360), _line((0.83, 0.3), (0.78, 1.0))],
        [_cat(_arc(0.48, 0.3, 0.34, 0.29, -10, 350), _line((0.82, 0.25), (0.82, 1.0)))],
        [_arc(0.48, 0.28, 0.33, 0.27, 20, 380), _bezier((0.81, 0.3), (0.82, 0.9), (0.35, 1.0))]],
}


def _warp(strokes: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """Random slant, rotation, proportions and a smooth wobble of every point; unit box out."""
    slant, angle = rng.uniform(-0.35, 0.35), np.deg2rad(rng.uniform(-12, 12))
    aspect = rng.uniform(0.55, 1.05)  # width / height of the digit
    c, s = np.cos(angle), np.sin(angle)
    k = rng.normal(0, 1, (3, 4))  # a few random low-frequency waves
    out = []
    for p in strokes:
        p = p - 0.5
        p = np.stack([p[:, 0] * aspect - slant * p[:, 1], p[:, 1]], axis=1)
        p = p @ np.array([[c, s], [-s, c]])
        wob = 0.025 * np.stack([
            k[0, 0] * np.sin(3 * p[:, 1] + k[0, 1]) + k[1, 0] * np.sin(5 * p[:, 0] + k[1, 1]),
            k[0, 2] * np.sin(3 * p[:, 0] + k[0, 3]) + k[2, 0] * np.sin(5 * p[:, 1] + k[2, 1])], axis=1)
        out.append(p + wob)
    return out


# Ways of writing a digit that people use and MNIST's American writers rarely did, each beside the
# plain form, to measure them one by one: name -> (digit, strokes).
def _overshot_zero(n=60):
    t = np.deg2rad(np.linspace(250, 700, n))  # more than a full turn, closing inwards
    r = np.linspace(1, 0.8, n)
    return np.stack([0.5 + 0.34 * r * np.cos(t), 0.5 + 0.5 * r * np.sin(t)], axis=1)


STYLES: dict[str, tuple[int, list[np.ndarray]]] = {
    "0 plain": (0, TEMPLATES[0][0]),
    "0 slashed": (0, TEMPLATES[0][0] + [_line((0.12, 1.02), (0.88, -0.02))]),
    "0 slashed inside": (0, TEMPLATES[0][1] + [_line((0.3, 0.78), (0.7, 0.22))]),
    "0 overshooting": (0, [_overshot_zero()]),
    "0 slashed upright": (0, TEMPLATES[0][1] + [_line((0.52, -0.2), (0.48, 1.2))]),
    "0 crossed": (0, TEMPLATES[0][0] + [_line((-0.3, 0.5), (1.3, 0.5))]),
    "1 bare": (1, TEMPLATES[1][0]),
    "1 flag": (1, TEMPLATES[1][1]),
    "1 flag and foot": (1, TEMPLATES[1][2]),
    "1 long up-stroke": (1, [_line((0.15, 0.6), (0.6, 0.0), (0.6, 1.0))]),
    "1 foot": (1, [_line((0.55, 0.0), (0.55, 1.0)), _line((0.25, 1.0), (0.85, 1.0))]),
    "1 I-shaped": (1, [_line((0.3, 0.0), (0.7, 0.0)), _line((0.5, 0.0), (0.5, 1.0)), _line((0.25, 1.0), (0.75, 1.0))]),
    "2 plain": (2, TEMPLATES[2][0]),
    "2 looped": (2, [_cat(_arc(0.5, 0.3, 0.38, 0.3, 200, 395), _line((0.84, 0.42), (0.2, 0.9)),
                          _arc(0.25, 0.85, 0.12, 0.12, 120, 480), _line((0.19, 0.95), (0.92, 1.0)))]),
    "4 open": (4, TEMPLATES[4][1]),
    "4 closed": (4, TEMPLATES[4][0]),
    "7 plain": (7, TEMPLATES[7][0]),
    "7 crossed": (7, TEMPLATES[7][1]),
    "9 straight tail": (9, TEMPLATES[9][1]),
    "9 curved tail": (9, TEMPLATES[9][2]),
}


def random_drawing(digit: int, rng: np.random.Generator) -> tuple[list[np.ndarray], float]:
    """One random way of drawing digit: strokes in canvas pixels and a brush width (12-28 px)."""
    styles = TEMPLATES[digit]
    return drawing_of(styles[rng.integers(len(styles))], rng)


def drawing_of(style: list[np.ndarray], rng: np.random.Generator) -> tuple[list[np.ndarray], float]:
    """One style warped at random: strokes in canvas pixels and a brush width (12-28 px)."""
    strokes = _warp(style, rng)
    height = rng.uniform(90, 240)
    pts = np.concatenate(strokes)
    lo, hi = pts.min(axis=0) * height, pts.max(axis=0) * height
    brush = rng.uniform(12, 28)
    margin = brush / 2 + 2
    # A random position that keeps the whole digit on the canvas.
    cx = rng.uniform(margin - lo[0], max(margin - lo[0], CANVAS - margin - hi[0]))
    cy = rng.uniform(margin - lo[1], max(margin - lo[1], CANVAS - margin - hi[1]))
    return [p * height + np.array([cx, cy]) for p in strokes], brush


def drawn_digits(n_per_digit: int = 120, seed: int = 2026):
    """A list of (280, 280[, C]) uint8 canvases and their labels, n_per_digit of each digit."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for i in range(n_per_digit * 10):
        strokes, brush = random_drawing(i % 10, rng)
        ink = render(strokes, 1.0, (0.0, 0.0), brush)
        images.append(as_canvas(ink, CONVENTIONS[i // 10 % len(CONVENTIONS)]))
        labels.append(i % 10)
    return images, np.array(labels)


def restroked_mnist(n: int = 1000, seed: int = 2026):
    """Real handwriting as canvas drawings: MNIST *test* digits (never trained on) restroked at a
    random size (90-240 px) and brush width (12-28 px), placed at random on a 280 px canvas and
    coloured in one of the canvas conventions. Returns (images, labels)."""
    from mnist_core.data import load_mnist
    _, (x_test, y_test) = load_mnist()
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(x_test), n, replace=False)
    images = []
    for i, idx in enumerate(picks):
        ink = restroke(x_test[idx], rng.uniform(90, 240), rng.uniform(12, 28))
        rows, cols = np.nonzero(ink)  # the drawing itself, not its 28x28 frame, must fit the canvas
        crop = ink[rows.min(): rows.max() + 1, cols.min(): cols.max() + 1][:CANVAS, :CANVAS]
        canvas = np.zeros((CANVAS, CANVAS), np.float32)
        h, w = crop.shape
        top, left = rng.integers(0, CANVAS - h + 1), rng.integers(0, CANVAS - w + 1)
        canvas[top: top + h, left: left + w] = crop
        images.append(as_canvas(canvas, CONVENTIONS[i % len(CONVENTIONS)]))
    return images, y_test[picks]


def plain_resize(image: np.ndarray) -> np.ndarray:
    """The naive baseline: the whole canvas's ink squashed to 28x28, nothing else."""
    from mnist_core.canvas import _to_ink
    ink = Image.fromarray((_to_ink(image) * 255).astype(np.uint8))
    return np.asarray(ink.resize((28, 28), Image.Resampling.BOX), dtype=np.float32) / 255


def evaluate_drawn(model, images, labels) -> dict[str, dict]:
    """evaluate.measure of the drawings prepared by a plain resize and by canvas_to_mnist."""
    from mnist_core.canvas import canvas_to_mnist
    from mnist_core.evaluate import measure
    blank = np.zeros((28, 28), np.float32)
    return {name: measure(model, np.stack([blank if (p := prep(im)) is None else p for im in images]), labels)
            for name, prep in (("plain resize", plain_resize), ("canvas_to_mnist", canvas_to_mnist))}


def print_table(title: str, results: dict[str, dict]) -> None:
    """Accuracy per digit and overall, one column per way of preparing the drawings."""
    names = list(results)
    print(title)
    print("digit  " + "  ".join(f"{n:>16}" for n in names))
    for d in range(10):
        print(f"{d:>5}  " + "  ".join(f"{results[n]['per_digit'][d]:>16.1%}" for n in names))
    print(" all   " + "  ".join(f"{results[n]['accuracy']:>16.1%}" for n in names))


def style_drawings(name: str, n: int = 100, seed: int = 5):
    """n drawings of one of STYLES, warped, sized and placed at random: (images, labels)."""
    digit, style = STYLES[name]
    rng = np.random.default_rng(seed)
    images = []
    for i in range(n):
        strokes, brush = drawing_of(style, rng)
        images.append(as_canvas(render(strokes, brush=brush), CONVENTIONS[i % len(CONVENTIONS)]))
    return images, np.full(n, digit)


def print_benchmark(model, n_per_digit: int = 120, seed: int = 2026) -> int:
    images, labels = drawn_digits(n_per_digit, seed)
    print_table(f"{len(images)} pen-stroke drawings (templates, seed {seed}), accuracy per digit:",
                evaluate_drawn(model, images, labels))
    images, labels = restroked_mnist(n_per_digit * 10, seed)
    print_table(f"\n{len(images)} MNIST test digits redrawn as canvas strokes (seed {seed}), accuracy per digit:",
                evaluate_drawn(model, images, labels))
    return 0
