"""Real handwriting by writers the model never saw, read as the page reads it; then the ways of
writing a digit, one by one."""

from __future__ import annotations

import numpy as np

from mnist_core.canvas import canvas_to_mnist
from mnist_core.evaluate import measure
from mnist_core.handwriting import COPIES, reading_figures

from .synthetic import STYLES, style_drawings


def print_benchmark(model, per_style: int = 100, part_name: str = "test") -> int:
    """The test (or validation) writers per digit, through the page's path; then each writing style."""
    f = reading_figures(model, part_name)
    print(f"{f['drawings']} drawings of {f['digits']} real pen-written digits by {f['writers']} {part_name} writers "
          f"(UNIPEN; {COPIES} each on the page's 560x280 canvas, brush 12-28 px, every colour convention), "
          "read by canvas_to_digits as the Draw tab reads them (more than one digit counts as wrong):")
    print("  ".join(f"{d}: {a:.1%}" for d, a in enumerate(f["per_digit"])))
    print(f"all: {f['accuracy']:.1%} (95% interval over writers {f['interval'][0]:.1%}-{f['interval'][1]:.1%}); "
          f"kept as one digit: {f['one_digit']:.2%}")
    print(f"\n{per_style} drawings of each way of writing (templates, random slant, size and brush):")
    print(f"{'style':<20} {'read right':>10}   read as")
    for name in STYLES:
        images, labels = style_drawings(name, per_style)
        m = measure(model, np.stack([canvas_to_mnist(im) for im in images]), labels)
        wrong = np.bincount(m["predicted"][~m["correct"]], minlength=10)
        print(f"{name:<20} {m['accuracy']:>10.0%}   " + ", ".join(f"{d}: {c}" for d, c in enumerate(wrong) if c))
    return 0
