"""Real handwriting by writers the model never saw, and the ways of writing a digit, one by one."""

from __future__ import annotations

import numpy as np

from mnist_core.canvas import canvas_to_mnist
from mnist_core.evaluate import measure
from mnist_core.handwriting import HELD_OUT_COPIES, held_out_canvases, shipped_split

from .synthetic import STYLES, evaluate_drawn, print_table, style_drawings


def print_benchmark(model, per_style: int = 100) -> int:
    """The held-out writers per digit (beside the plain resize), then each writing style."""
    pairs = list(held_out_canvases())
    images, labels = [p[0] for p in pairs], np.array([p[1] for p in pairs])
    writers = len(set(shipped_split()[1].writers.tolist()))
    print_table(f"{len(images)} canvas drawings of {len(images) // HELD_OUT_COPIES} real pen-written digits by "
                f"{writers} held-out writers (UNIPEN; {HELD_OUT_COPIES} drawings each, brush 12-28 px, every "
                "colour convention), accuracy per digit:", evaluate_drawn(model, images, labels))
    print(f"\n{per_style} drawings of each way of writing (templates, random slant, size and brush):")
    print(f"{'style':<20} {'read right':>10}   read as")
    for name in STYLES:
        images, labels = style_drawings(name, per_style)
        m = measure(model, np.stack([canvas_to_mnist(im) for im in images]), labels)
        wrong = np.bincount(m["predicted"][~m["correct"]], minlength=10)
        print(f"{name:<20} {m['accuracy']:>10.0%}   " + ", ".join(f"{d}: {c}" for d, c in enumerate(wrong) if c))
    return 0
