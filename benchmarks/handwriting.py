"""Real handwriting by writers the model never saw, read as the page reads it; then the ways of
writing a digit, one by one."""

from __future__ import annotations

import numpy as np

from mnist_core.canvas import canvas_to_mnist
from mnist_core.evaluate import measure
from mnist_core.handwriting import COPIES, misread_by_writer, reading_figures
from mnist_core.network import slant

from .synthetic import STYLES, style_drawings


def misread_sheet(misread: dict, path: str, per_row: int = 20, zoom: int = 2) -> None:
    """A PNG of misread_by_writer's drawings (its "by_writer"): a row (or more) per writer, each drawing as the page gives it to the
    network (before the model's own deskew), with "right>shown" under it."""
    from PIL import Image, ImageDraw
    cell, name_w = 28 * zoom + 6, 150
    rows = [(w, items[k:k + per_row]) for w, items in misread.items() for k in range(0, len(items), per_row)]
    sheet = Image.new("L", (name_w + per_row * cell, max(1, len(rows)) * (cell + 12)), 255)
    pen = ImageDraw.Draw(sheet)
    for r, (writer, items) in enumerate(rows):
        y = r * (cell + 12)
        number = list(misread).index(writer) + 1  # "set/writer": the sheet names the set, not the person
        pen.text((4, y + cell // 2 - 6), f"writer {number} ({writer.split('/')[0]}): {len(misread[writer])}", fill=0)
        for c, (image, right, shown) in enumerate(items):
            x = name_w + c * cell
            sheet.paste(Image.fromarray(image).resize((28 * zoom, 28 * zoom), Image.NEAREST), (x + 3, y + 3))
            pen.text((x + 6, y + cell - 1), f"{right}>{shown}", fill=0)
    sheet.save(path)


def print_benchmark(model, per_style: int = 100, part_name: str = "test", sheet: str | None = None) -> int:
    """The test (or validation) writers per digit, through the page's path; who is misread; then each writing
    style. sheet: also draw every misread drawing into this PNG."""
    f = reading_figures(model, part_name)
    print(f"{f['drawings']} drawings of {f['digits']} real pen-written digits by {f['writers']} {part_name} writers "
          f"(UNIPEN; {COPIES} each on the page's 560x280 canvas, brush 12-28 px, every colour convention), "
          "read by canvas_to_digits as the Draw tab reads them (more than one digit counts as wrong):")
    print("  ".join(f"{d}: {a:.1%}" for d, a in enumerate(f["per_digit"])))
    print(f"all: {f['accuracy']:.1%} (95% interval over writers {f['interval'][0]:.1%}-{f['interval'][1]:.1%}); "
          f"kept as one digit: {f['one_digit']:.2%}")
    misread = misread_by_writer(model, part_name)["by_writer"]
    errors = sum(len(v) for v in misread.values())
    print(f"the {errors} misread drawings by writer (of {f['writers']}): "
          + ", ".join(f"{w} {len(v)}" for w, v in misread.items()))
    if sheet:
        misread_sheet(misread, sheet)
        print(f"each of them, as the page gives it to the network, in {sheet}")
    print(f"\n{per_style} drawings of each way of writing (templates, random slant, size and brush), and the slant")
    print("Deskew measures in them, mean (sd), pixels sideways per pixel down: a flag or a slash taken for slant")
    print("moves the mean away from the same digit's plain style:")
    print(f"{'style':<20} {'read right':>10} {'slant':>12}   read as")
    for name in STYLES:
        images, labels = style_drawings(name, per_style)
        x = np.stack([canvas_to_mnist(im) for im in images])
        m, s = measure(model, x, labels), slant(x)
        wrong = np.bincount(m["predicted"][~m["correct"]], minlength=10)
        print(f"{name:<20} {m['accuracy']:>10.0%} {s.mean():>+6.2f} ({s.std():.2f})   "
              + ", ".join(f"{d}: {c}" for d, c in enumerate(wrong) if c))
    return 0
