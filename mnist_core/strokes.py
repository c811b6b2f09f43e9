"""Pen strokes drawn as the app's canvas draws them: round, anti-aliased, in any colour convention.

Training uses these to show the network digits as the canvas delivers them (real pen strokes,
MNIST digits restroked); the benchmarks use them to make drawings the network never saw.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

CANVAS = 280  # the page's canvas: its height, px (a digit is drawn 40-85% of it high)
CANVAS_WIDTH = 560  # and its width: room for a whole number
BRUSHES = (12, 28)  # the range of brush widths people use on it, px
CONVENTIONS = ("rgba-transparent", "black-on-white", "white-on-black", "colour-on-grey")


def render(strokes: list[np.ndarray], height: float = 1.0, centre: tuple[float, float] = (0.0, 0.0),
           brush: float = 20, scale: int = 2, side: int = CANVAS, width: int | None = None) -> np.ndarray:
    """(side, width or side) float ink in [0, 1]: each (n, 2) stroke of (x, y) points, times height, plus
    centre, drawn with a round brush `brush` px wide (round joints and caps), anti-aliased by supersampling."""
    width = width or side
    img = Image.new("L", (width * scale, side * scale), 0)
    draw = ImageDraw.Draw(img)
    r = brush * scale / 2
    for p in strokes:
        pts = (p * height + np.array(centre)) * scale
        xy = [tuple(q) for q in pts]
        if len(xy) > 1:
            draw.line(xy, fill=255, width=round(brush * scale), joint="curve")
        for x, y in (xy[0], xy[-1]):
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return np.asarray(img.resize((width, side), Image.Resampling.BOX), dtype=np.float32) / 255


def as_canvas(ink: np.ndarray, convention: str) -> np.ndarray:
    """Ink (H, W) float32 in [0, 1] -> uint8 image (H, W, 4 or 3) in one of the canvas's colour conventions.
    Each channel is worked out on its own (H, W) plane: a third to a tenth of the time of the whole
    (H, W, 3) at once, and the same bytes (checked for every ink value 0-255/255 in test_handwriting.py)."""
    if convention == "rgba-transparent":  # st_canvas defaults: black stroke, only alpha carries it
        out = np.zeros(ink.shape + (4,), np.uint8)
        out[..., 3] = (ink.astype(np.float32) * 255).round()
        return out
    a = ink.astype(np.float64)
    if convention == "black-on-white":
        channels = [1 - a] * 3
    elif convention == "white-on-black":
        channels = [a] * 3
    else:  # a blue pen on light grey paper
        paper = (1 - ink).astype(np.float64)
        channels = [paper * grey + a * pen for grey, pen in zip((0.85, 0.85, 0.85), (0.1, 0.2, 0.8))]
    return np.stack([(c * 255).round().astype(np.uint8) for c in channels], axis=-1)


def restroke(digit: np.ndarray, height: float, brush: float, scale: int = 2) -> np.ndarray:
    """A 28x28 MNIST digit as if drawn on the canvas: its pen's centre line (the skeleton of the
    thresholded digit), enlarged so its 20 px box is `height` px and drawn with a round brush
    `brush` px wide, anti-aliased by supersampling. (side, side) float ink in [0, 1].

    Tracing the centre line keeps every stroke whole at any brush width, as a real pen stroke is;
    eroding the digit's own outline instead broke its thin parts into pieces. Where the writer's
    ink is wider than their typical stroke (a loop filled in, a blot), the brush widens in
    proportion: a filled loop traced as a bare line would turn an 8 into a 9."""
    from scipy.ndimage import distance_transform_edt
    from skimage.morphology import skeletonize
    up = 4  # skeletonise at 112 px, where MNIST's strokes are ~10 px wide: few spurs
    side = int(round(28 * height / 20))
    big = np.asarray(Image.fromarray(digit).resize((28 * up, 28 * up), Image.Resampling.BILINEAR)) >= 64
    ys, xs = np.nonzero(skeletonize(big))
    half = distance_transform_edt(big)[ys, xs]  # the writer's half-width at each centre-line pixel
    f = side / (28 * up) * scale
    radii = brush * scale / 2 * np.maximum(1, half / np.median(half))  # the writer's blots, scaled to the brush
    img = Image.new("L", (side * scale, side * scale), 0)
    draw = ImageDraw.Draw(img)
    for x, y, r in zip((xs + 0.5) * f, (ys + 0.5) * f, radii):  # a brush dab per pixel, <= 3 px apart
        draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return np.asarray(img.resize((side, side), Image.Resampling.BOX), np.float32) / 255
