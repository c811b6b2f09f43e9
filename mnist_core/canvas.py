"""A drawing on a canvas -> the 28x28 image MNIST would have made of it.

MNIST's recipe (LeCun et al.): crop to the ink, scale the longer side to 20 px keeping the aspect
ratio (anti-aliased), then place it in 28x28 with its centre of mass at the centre. Mouse
drawings also differ in stroke width: a 25 px brush on a small digit is far bolder than a pen,
so the stroke is first brought to MNIST's typical width.
"""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image

# scipy.ndimage (0.08 s to import) is imported where it is used: the page shows before anyone draws.

BOX = 20  # longer side of the digit in the 28x28 frame
WORK = 80  # longer side at which the stroke width is measured and adjusted (4x BOX)
# Median stroke width of MNIST's training digits, measured by stroke_width() at WORK scale
# (mnist_stroke_width() recomputes it; a test keeps the two in step).
MNIST_STROKE = 10.2
STROKE_TOLERANCE = 0.2  # widths this close (relative) to MNIST's are left alone
INK_MIN = 0.1  # contrast with the background below which a pixel is not ink


def _to_ink(image: np.ndarray) -> np.ndarray:
    """Any canvas convention -> (H, W) float32 ink in [0, 1], 0 where the background is.

    Channel by channel, from the image's own dtype: a reduction over the colour axis of a float copy
    of the whole canvas took ~4 ms of the ~5 ms a 560x280 drawing cost."""
    if image.dtype == np.uint8:
        scale = np.float32(1 / 255)
    elif image.dtype.kind == "f":
        scale = np.float32(1)
        if not (image.min() >= 0 and image.max() <= 1):
            raise ValueError(f"a float image must hold values in [0, 1], got {image.min():g} to {image.max():g}")
    else:
        raise TypeError(f"image must be uint8 (0-255) or float (0-1), got dtype {image.dtype}")
    x = image if image.ndim == 3 else image[..., None]
    if x.shape[2] == 4:
        alpha = x[..., 3]
        border_alpha = np.concatenate([alpha[0], alpha[-1], alpha[:, 0], alpha[:, -1]])
        if np.median(border_alpha) * scale < 0.5:
            return alpha.astype(np.float32) * scale  # transparent background: the stroke is wherever it is opaque
        x = x[..., :3]
    # Opaque: the background is the border's typical colour, ink is the distance from it.
    border = np.concatenate([x[0], x[-1], x[:, 0], x[:, -1]])
    bg = np.median(border, axis=0).astype(np.float32)
    ink = np.abs(x[..., 0].astype(np.float32) - bg[0])
    for c in range(1, x.shape[2]):
        np.maximum(ink, np.abs(x[..., c].astype(np.float32) - bg[c]), out=ink)
    return ink * scale


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a binary (H, W) drawing: area / half its boundary length."""
    area = mask.sum()
    if area == 0:
        return 0.0
    padded = np.pad(mask, 1)
    interior = (padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:] & mask)
    boundary = max(area - interior.sum(), 1)
    return float(2 * area / boundary)


def mnist_stroke_width(images: np.ndarray) -> float:
    """Median stroke_width() of (n, 28, 28) uint8 digits, cropped and fitted as drawings are."""
    return float(np.median([stroke_width(np.asarray(_fit(_crop(x / 255.0), WORK)) >= 128) for x in images]))


def _crop(ink: np.ndarray) -> np.ndarray | None:
    """ink's box around the pixels of at least INK_MIN, or None if there are none. The rows and
    columns that hold any (np.nonzero of every pixel took ~0.2 ms of a 280x280 canvas, this 0.03)."""
    mask = ink >= INK_MIN
    rows = np.flatnonzero(mask.any(axis=1))
    if len(rows) == 0:
        return None
    cols = np.flatnonzero(mask[rows[0]: rows[-1] + 1].any(axis=0))
    return ink[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]


def _fit(ink: np.ndarray, side: int) -> Image.Image:
    """Scale so the longer side is `side` px, keeping the aspect ratio; anti-aliased."""
    h, w = ink.shape
    s = side / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    img = Image.fromarray(np.clip(ink * 255, 0, 255).astype(np.uint8))
    return img.resize(size, Image.Resampling.BOX if s < 1 else Image.Resampling.BILINEAR)


def _pieces_and_holes(mask: np.ndarray) -> tuple[int, int]:
    """Counts of a binary drawing's pieces (8-connected) and holes (4-connected background)."""
    from scipy import ndimage
    padded = np.pad(mask, 1)  # the background around the drawing is one region, not a hole
    return ndimage.label(padded, np.ones((3, 3)))[1], ndimage.label(~padded)[1] - 1


def _normalise_stroke(img: Image.Image) -> np.ndarray:
    """Thin or thicken the stroke (at WORK scale) towards MNIST's typical width: (h, w) uint8.

    Thinning never changes the drawing's shape: a small 0 drawn with a thick brush has thin and
    thick parts, and eroding it all the way to MNIST's width would cut the ring into an arc. The
    erosion backs off until the pieces and holes are those of the drawing.

    A square minimum (maximum) filter with edges repeated: the same pixels as PIL's MinFilter (MaxFilter),
    but scipy's runs one row and one column pass, 15-45x faster (PIL's took 1.4 ms at 9x9)."""
    from scipy import ndimage
    work = np.asarray(img)
    mask = work >= 128
    width = stroke_width(mask)
    k = round((width - MNIST_STROKE) / 2)  # pixels to take off (or add to) each side
    if abs(width - MNIST_STROKE) < STROKE_TOLERANCE * MNIST_STROKE or width == 0:
        return work
    k = max(-4, min(k, 12))
    if k < 0:
        return ndimage.maximum_filter(work, size=-2 * k + 1, mode="nearest")
    shape = _pieces_and_holes(mask)
    for k in range(min(k, int((width - 2) / 2)), 0, -1):  # never erode a stroke away
        thinner = ndimage.minimum_filter(work, size=2 * k + 1, mode="nearest")
        if _pieces_and_holes(thinner >= 128) == shape:
            return thinner
    return work


MAX_SIDE = 2048  # px: the page's canvas is 560x280 (x3 on the densest screens); a larger image is no drawing
MAX_PNG_BYTES = 2_000_000  # a canvas drawing's PNG is tens of kB


def canvas_png(data: bytes) -> np.ndarray:
    """The PNG the canvas sent -> (H, W, C) uint8, refused with a ValueError before decoding if it is
    larger than a canvas drawing can be (bytes or pixels), or not a PNG."""
    if len(data) > MAX_PNG_BYTES:
        raise ValueError(f"the drawing's image is {len(data) / 1e6:.1f} MB, more than a canvas drawing "
                         f"({MAX_PNG_BYTES / 1e6:.0f} MB at most)")
    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("the drawing's image is not a PNG")
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk, first after the signature
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise ValueError(f"the drawing's image is {width}x{height} px, larger than a canvas ({MAX_SIDE} px a side at most)")
    try:
        with Image.open(io.BytesIO(data)) as img:
            return np.asarray(img.convert("RGBA") if img.mode == "P" else img)
    except (OSError, ValueError, SyntaxError) as e:
        raise ValueError(f"the drawing's image cannot be read ({e})") from None


def _checked_ink(image) -> np.ndarray:
    """A canvas of any convention, checked -> (H, W) float32 ink in [0, 1] (see _to_ink)."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy array, got {type(image).__name__}")
    if image.ndim >= 2 and max(image.shape[:2]) > MAX_SIDE:
        raise ValueError(f"image is {image.shape[1]}x{image.shape[0]} px, larger than a canvas "
                         f"({MAX_SIDE} px a side at most)")
    if image.ndim not in (2, 3) or image.ndim == 3 and image.shape[2] not in (1, 3, 4):
        raise ValueError(f"image must be shaped (H, W), (H, W, 3) or (H, W, 4), got {image.shape}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"image is empty: shape {image.shape}")
    if image.dtype.kind == "f" and not np.isfinite(image).all():
        raise ValueError("image contains NaN or infinite values")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    return _to_ink(image)


def canvas_to_mnist(image) -> np.ndarray | None:
    """(H, W), (H, W, 3) or (H, W, 4) canvas -> (28, 28) float32 in [0, 1], or None if blank.
    uint8 means 0-255 and float means 0-1. The background is read from the border, so light on
    dark, dark on light and strokes on a transparent background (RGBA) all work.
    """
    return _ink_to_mnist(_checked_ink(image))


def _ink_to_mnist(ink: np.ndarray) -> np.ndarray | None:
    if ink.max() < INK_MIN:
        return None
    ink = _crop(ink / ink.max())  # the strongest ink is full ink, whatever the pen's colour
    work = _normalise_stroke(_fit(ink, WORK))
    digit = _crop(work.astype(np.float32) / 255)
    if digit is None:
        return None
    small = np.asarray(_fit(digit, BOX), dtype=np.float32) / 255  # (h, w), max(h, w) == 20
    if small.max() <= 0:
        return None
    small /= small.max()
    # Centre of mass to pixel (14, 14), as in MNIST (whose mean centre of mass is 14.0, 14.0).
    h, w = small.shape
    total = small.sum()
    cy = (small.sum(axis=1) * np.arange(h)).sum() / total
    cx = (small.sum(axis=0) * np.arange(w)).sum() / total
    top = int(np.clip(round(14 - cy), 0, 28 - h))
    left = int(np.clip(round(14 - cx), 0, 28 - w))
    out = np.zeros((28, 28), dtype=np.float32)
    out[top: top + h, left: left + w] = small
    return out


SAME_DIGIT_OVERLAP = 0.4  # pieces whose columns overlap by this share of the narrower one are one digit
SPECK = 0.05  # a piece with less ink than this share of the biggest piece joins its nearest digit
# A number's digits are roughly one height and stand on one line; a digit's parts apart (an open 4's
# hook and stem, a 5's hat, a 1's foot) do not. Measured on the real pen digits of all 120 writers
# drawn on the page's canvas, and on numbers written by one writer each (benchmarks/numbers.py).
SAME_HEIGHT = 0.7  # neighbours are two digits only if the shorter is at least this share of the taller
SAME_LINE = 0.18  # and their bottoms differ by at most this share of the taller's height


def digit_groups(ink: np.ndarray) -> tuple[np.ndarray | None, int]:
    """(H, W) ink -> (labels, k): k digits, and (H, W) int labels 1..k for each digit, left to right
    (None when k <= 1: the whole drawing is the one digit, and the per-stroke path does no more work).

    The ink's pieces (8-connected strokes) are one digit when their columns overlap enough: a 5's
    hat, a 4 or a 7 in two strokes, a crossed 7, a slashed 0, a broken stroke all lie over the
    same columns, while digits side by side, even close, do not. A speck joins the nearest digit.
    Every pixel goes to the digit of its nearest piece, so a digit keeps its faint anti-aliased edge."""
    from scipy import ndimage
    pieces, n = ndimage.label(ink >= INK_MIN * ink.max(), np.ones((3, 3)))
    if n <= 1:
        return None, n
    area = ndimage.sum_labels(np.ones_like(ink), pieces, np.arange(1, n + 1))
    boxes = ndimage.find_objects(pieces)  # each piece's (rows, columns) slices
    groups = [{"pieces": [k], "span": [boxes[k][1].start, boxes[k][1].stop], "rows": [boxes[k][0].start, boxes[k][0].stop],
               "area": float(area[k])} for k in range(n)]

    def overlap(a, b):
        return min(a["span"][1], b["span"][1]) - max(a["span"][0], b["span"][0])

    def width(a):
        return a["span"][1] - a["span"][0]

    def join(a, b):
        groups.remove(b)
        a["pieces"] += b["pieces"]
        a["span"] = [min(a["span"][0], b["span"][0]), max(a["span"][1], b["span"][1])]
        a["rows"] = [min(a["rows"][0], b["rows"][0]), max(a["rows"][1], b["rows"][1])]
        a["area"] += b["area"]

    def height(a):
        return a["rows"][1] - a["rows"][0]

    def side_by_side(a, b):  # like two digits of one number
        tall = max(height(a), height(b))
        return min(height(a), height(b)) >= SAME_HEIGHT * tall and abs(a["rows"][1] - b["rows"][1]) <= SAME_LINE * tall

    while True:  # pieces over the same columns are one digit
        pair = next(((a, b) for i, a in enumerate(groups) for b in groups[i + 1:]
                     if overlap(a, b) >= SAME_DIGIT_OVERLAP * min(width(a), width(b))), None)
        if pair is None:
            break
        join(*pair)
    while len(groups) > 1:  # a speck (a dot, a stray touch) is no digit of its own
        speck = min(groups, key=lambda g: g["area"])
        if speck["area"] >= SPECK * max(g["area"] for g in groups):
            break
        join(max((g for g in groups if g is not speck), key=lambda g: overlap(g, speck)), speck)
    while len(groups) > 1:  # a part of a digit, beside the rest of it, joins it: the shortest first
        for g in sorted(groups, key=height):
            near = max((h for h in groups if h is not g), key=lambda h: overlap(g, h))  # the nearest, by columns
            if not side_by_side(g, near):
                join(near, g)
                break
        else:
            break
    if len(groups) == 1:
        return None, 1
    label_of = np.zeros(n + 1, np.int32)
    for rank, g in enumerate(sorted(groups, key=lambda g: g["span"][0]), 1):
        label_of[[k + 1 for k in g["pieces"]]] = rank
    _, (iy, ix) = ndimage.distance_transform_edt(pieces == 0, return_indices=True)  # nearest piece of each pixel
    return label_of[pieces[iy, ix]], len(groups)


def canvas_to_digits(image) -> list[np.ndarray]:
    """A canvas with a number on it -> its digits left to right, each (28, 28) float32 prepared exactly
    as canvas_to_mnist prepares one digit; [] for a blank canvas, one element for one digit."""
    ink = _checked_ink(image)
    if ink.max() < INK_MIN:
        return []
    labels, k = digit_groups(ink)
    if labels is None:
        digits = [_ink_to_mnist(ink)]  # exactly canvas_to_mnist's
    else:
        digits = [_ink_to_mnist(np.where(labels == d, ink, 0)) for d in range(1, k + 1)]
    return [d for d in digits if d is not None]
