"""Random distortions of MNIST digits so the network also reads mouse-drawn digits.

Drawn digits differ from MNIST's in slant, proportions, position, wobble and above all stroke
width. Each training epoch sees every image under a fresh random affine map plus an elastic
distortion (Simard et al., 2003: the classic way to make a dense network generalise on digits),
and with its stroke thinned or thickened. Some 1s also get a flag and some 0s a stroke through them:
MNIST has few of either.
"""

from __future__ import annotations

import functools

import numpy as np

CENTRE = 13.5  # pixel centre of a 28x28 image
ELASTIC_PIXELS = 1.0  # typical elastic displacement, in pixels


def random_affines(n: int, rng: np.random.Generator, spread=1.0) -> tuple[np.ndarray, np.ndarray]:
    """(n, 2, 2) inverse linear maps and (n, 2) offsets: output (y, x) -> input (y, x). spread (a number, or
    (n,): one per image) scales every range."""
    spread = np.broadcast_to(np.asarray(spread, float), (n,))
    angle = np.deg2rad(rng.uniform(-15, 15, n) * spread)
    shear = rng.uniform(-0.3, 0.3, n) * spread
    scale = 1 + rng.uniform(-0.15, 0.15, n) * spread
    aspect = np.exp(rng.uniform(-0.15, 0.15, n) * spread)
    sx, sy = scale * aspect, scale / aspect
    shift = rng.uniform(-1.5, 1.5, (n, 2)) * spread[:, None]
    # Forward map in (x, y): A = R(angle) @ Shear @ diag(sx, sy).
    c, s = np.cos(angle), np.sin(angle)
    a = np.empty((n, 2, 2))
    a[:, 0, 0], a[:, 0, 1] = c * sx, (c * shear - s) * sy
    a[:, 1, 0], a[:, 1, 1] = s * sx, (s * shear + c) * sy
    inv = np.linalg.inv(a)[:, ::-1, ::-1]  # the inverse, in (y, x) order
    centre = np.array([CENTRE, CENTRE])
    offset = centre - np.einsum("nij,nj->ni", inv, centre + shift)
    return inv.astype("float32"), offset.astype("float32")


def elastic_fields(n: int, rng: np.random.Generator, spread=1.0) -> np.ndarray:
    """(n, 4, 4, 2) coarse random displacements (dy, dx) in pixels; _warp interpolates them
    smoothly over the 28x28 image: the same kind of field as Simard's Gaussian-smoothed noise, at a
    fraction of the cost. spread as for random_affines."""
    spread = np.broadcast_to(np.asarray(spread, float), (n,))[:, None, None, None]
    return (rng.normal(0, ELASTIC_PIXELS, (n, 4, 4, 2)) * spread).astype("float32")


@functools.cache
def _upsample() -> np.ndarray:
    """(28, 4): keras.ops.image.resize's bicubic upsampling of 4 points to 28, as a matrix (it is
    linear and separable, so a field is this @ coarse @ this.T)."""
    import keras  # this module's maths runs where training does; its constants are read without Keras
    impulses = np.eye(4, dtype="float32")[:, :, None, None]  # 4 images of 4x1, one impulse each
    return keras.ops.convert_to_numpy(keras.ops.image.resize(impulses, (28, 1), interpolation="bicubic"))[:, :, 0, 0].T

_GRID = np.stack(np.meshgrid(np.arange(28), np.arange(28), indexing="ij"), axis=-1).astype("float32")  # (y, x)


def _warp(images, inv, offset, coarse):
    """Images (n, 28, 28) float32 0-255 under the affine maps inv (n, 2, 2), offset (n, 2) of
    random_affines and the coarse fields (n, 4, 4, 2) of elastic_fields -> (n, 28, 28) float32."""
    import keras
    ops = keras.ops
    field = ops.einsum("yi,nijc,xj->nyxc", _upsample(), coarse, _upsample())  # (n, 28, 28, 2)
    gy, gx = _GRID[..., 0], _GRID[..., 1]
    cy = inv[:, 0, 0, None, None] * gy + inv[:, 0, 1, None, None] * gx + offset[:, 0, None, None] + field[..., 0]
    cx = inv[:, 1, 0, None, None] * gy + inv[:, 1, 1, None, None] * gx + offset[:, 1, None, None] + field[..., 1]
    # Bilinear sampling at (cy, cx), in a frame padded by a zero border that catches samples just outside.
    flat = ops.reshape(ops.pad(images, ((0, 0), (1, 1), (1, 1))), (-1,))
    cy, cx = ops.clip(cy + 1, 0, 28.999), ops.clip(cx + 1, 0, 28.999)
    y0, x0 = ops.floor(cy), ops.floor(cx)
    wy, wx = cy - y0, cx - x0
    base = ops.arange(ops.shape(images)[0], dtype="int32")[:, None, None] * 900 + \
        ops.cast(y0, "int32") * 30 + ops.cast(x0, "int32")
    corner = [ops.take(flat, base + d) for d in (0, 1, 30, 31)]
    return (corner[0] * (1 - wx) + corner[1] * wx) * (1 - wy) + (corner[2] * (1 - wx) + corner[3] * wx) * wy


def _restroke(x, mix):
    """Images (n, 28, 28) float32 0-255 with their stroke width changed by mix (n,) in [-1, 1]: a blend
    towards a 3x3 grey dilation (> 0, bolder) or erosion (< 0, thinner) -> (n, 28, 28) float32 0-255."""
    import keras
    ops = keras.ops

    def three_by_three(most, padded):  # (n, 30, 30) -> (n, 28, 28), rows then columns
        rows = most(most(padded[:, :, :-2], padded[:, :, 1:-1]), padded[:, :, 2:])
        return most(most(rows[:, :-2], rows[:, 1:-1]), rows[:, 2:])
    grow = three_by_three(ops.maximum, ops.pad(x, ((0, 0), (1, 1), (1, 1))))
    shrink = three_by_three(ops.minimum, ops.pad(x, ((0, 0), (1, 1), (1, 1)), constant_values=255))
    m = mix[:, None, None]
    x = ops.where(m > 0, x + m * (grow - x), x - m * (shrink - x))
    # Thinning also dims the stroke; drawings reach full ink, so bring each maximum back to 255.
    x = x * (255 / ops.maximum(ops.max(x, axis=(1, 2), keepdims=True), 1))
    return ops.round(ops.clip(x, 0, 255))


_compiled = {}


def augment_batch(images: np.ndarray, rng: np.random.Generator, chunk: int = 1000,
                  in_place: bool = False, spread=1.0) -> np.ndarray:
    """(n, 28, 28) uint8 -> (n, 28, 28) uint8: warped, elastically distorted, re-stroked; with in_place, written
    over images (an epoch's own copy: 47 MB less at once for MNIST's training set) and returned. spread (a
    number, or (n,): one per image) scales the warps' ranges: adapt distorts a person's few drawings further.

    The random draws are numpy's (so a seed gives the same images); the maths is two XLA-compiled
    calls per chunk (chunks bound the memory: a chunk of 1,000 peaks ~40 MiB lower than 2,500, as fast):
    0.3-0.6 s for 60,000 images. In one call XLA would redo
    the warp's sampling for each of the 18 neighbours that re-stroking reads (2.8 s)."""
    if not _compiled:
        import tensorflow as tf
        _upsample()  # eagerly, once: inside the compiled functions it is a constant
        _compiled.update(warp=tf.function(_warp, jit_compile=True), restroke=tf.function(_restroke, jit_compile=True))
    out = images if in_place else np.empty_like(images)
    spread = np.broadcast_to(np.asarray(spread, float), (len(images),))
    for start in range(0, len(images), chunk):
        part = images[start: start + chunk]
        n = len(part)
        inv, offset = random_affines(n, rng, spread[start: start + n])
        coarse = elastic_fields(n, rng, spread[start: start + n])
        mix = rng.uniform(-0.7, 1.0, n).astype("float32")
        if n < chunk:  # a short chunk padded to the chunk's shape: one compiled program for every size (each new
            # shape is compiled afresh and keeps memory in the process for good)
            pad = chunk - n
            part, inv, offset, coarse, mix = (np.concatenate([a, np.repeat(a[-1:], pad, axis=0)])
                                              for a in (part, inv, offset, coarse, mix))
        x = _compiled["restroke"](_compiled["warp"](part.astype(np.float32), inv, offset, coarse), mix)
        out[start: start + n] = x.numpy()[:n]
    return out


FLAGGED_ONES = 0.3  # share of the training 1s shown with a flag when augmenting


def add_flags(ones: np.ndarray, rng: np.random.Generator, scale: int = 4) -> np.ndarray:
    """(n, 28, 28) uint8 MNIST 1s -> the same 1s with a flag drawn at the top, down and to the left,
    as most of the world writes a 1 (MNIST's writers were American: its 1s are mostly a bare
    stroke, so a flagged 1 read as 7). A third also get a base. Returned as canvas_to_mnist makes
    digits. A 1 slanted more than 15 degrees is left alone: flagged, it would be a 7."""
    out = ones.copy()
    for i, one in enumerate(ones):
        ys, xs = np.nonzero(one >= 128)
        if len(ys) < 5:
            continue
        top, bottom = ys.min(), ys.max()
        height = bottom - top + 1
        width = len(ys) / height  # the stroke's width, px: its area over its length
        centre = np.array([xs.mean(), ys.mean()])  # (x, y)
        _, vectors = np.linalg.eigh(np.cov(np.stack([xs, ys])))
        axis = vectors[:, 1] * np.sign(vectors[1, 1])  # the stroke's direction, pointing down
        if abs(axis[0]) > 0.27 * axis[1]:  # slanted over 15 degrees: with a flag it is a 7
            continue
        tip = centre - axis * (centre[1] - top) / axis[1]
        angle = np.deg2rad(rng.uniform(30, 60))  # below the horizontal; a 7's bar is near 0 and longer
        end = tip + rng.uniform(0.2, 0.4) * height * np.array([-np.cos(angle), np.sin(angle)])
        lines = [(tip, end)]
        if rng.random() < 1 / 3:
            foot = centre + axis * (bottom - centre[1]) / axis[1]
            half = np.array([rng.uniform(0.2, 0.35) * height, 0])
            lines.append((foot - half, foot + half))
        out[i] = _with_lines(one, lines, width * rng.uniform(0.8, 1.1), scale)
    return out


def _with_lines(image: np.ndarray, lines, width: float, scale: int = 4, margin: int = 0) -> np.ndarray:
    """(28, 28) uint8 with straight strokes ((x, y) pixel ends) of width px drawn on it, round-capped,
    at scale times the size, with margin px of room around it for strokes that reach past the frame;
    returned as canvas_to_mnist makes digits (the image itself if it is blank)."""
    from PIL import Image, ImageDraw

    from .canvas import canvas_to_mnist
    big = Image.fromarray(np.pad(image, margin)).resize(((28 + 2 * margin) * scale,) * 2, Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(big)
    pen = max(1, round(width * scale))
    for a, b in lines:
        ends = [tuple((np.asarray(p) + margin + 0.5) * scale) for p in (a, b)]
        draw.line(ends, fill=255, width=pen)
        for x, y in ends:  # round caps
            draw.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=255)
    digit = canvas_to_mnist(np.asarray(big))
    return image if digit is None else np.round(digit * 255).astype(np.uint8)


STRUCK_ZEROS = 0.15  # share of the training 0s shown with a stroke through them when augmenting


def strike_zeros(zeros: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n, 28, 28) uint8 MNIST 0s -> the same 0s with a stroke through them, as with_slash draws it on
    pen strokes (a rising slash, upright, or across: Ø, φ, θ). MNIST's writers seldom struck a 0, and
    a struck 0 read as 8 or 4. Returned as canvas_to_mnist makes digits."""
    out = zeros.copy()
    for i, zero in enumerate(zeros):
        ys, xs = np.nonzero(zero >= 128)
        if len(ys) < 5:
            continue
        lo, hi = np.array([xs.min(), ys.min()], float), np.array([xs.max(), ys.max()], float)
        width = len(ys) / (np.pi * ((hi - lo) / 2 + 0.5).sum())  # the stroke's width, px: area over the ring's length
        out[i] = _with_lines(zero, [_stroke_through(lo, hi, rng)], max(width, 1.5), margin=14)
    return out


def as_drawn(images: np.ndarray, seed: int, workers: int = 2) -> np.ndarray:
    """(n, 28, 28) uint8 -> the same digits as the canvas would deliver them: each restroked at a
    random size and brush width (drawn.restroke), then read back through canvas_to_mnist."""
    from concurrent.futures import ThreadPoolExecutor

    from .canvas import canvas_to_mnist
    from .strokes import restroke
    rng = np.random.default_rng(seed)
    heights, brushes = rng.uniform(90, 240, len(images)), rng.uniform(12, 28, len(images))

    def one(i):
        # At half the canvas's scale: a quarter of the pixels, and canvas_to_mnist is scale-free.
        out = canvas_to_mnist(restroke(images[i], heights[i] / 2, brushes[i] / 2))
        return images[i] if out is None else np.round(out * 255).astype(np.uint8)

    with ThreadPoolExecutor(workers) as pool:  # PIL releases the GIL while it filters
        return np.stack(list(pool.map(one, range(len(images)), chunksize=256)))


AS_DRAWN_VERSION = 4  # bump when as_drawn or canvas_to_mnist changes what it makes


def as_drawn_cached(images: np.ndarray) -> np.ndarray:
    """as_drawn(images), computed once (about 2 minutes for MNIST's 60,000) and kept on disk."""
    from .paths import cached_array
    return cached_array("as-drawn", images.tobytes() + str(AS_DRAWN_VERSION).encode(),
                        lambda: as_drawn(images, seed=0))


# Ways of writing that neither MNIST nor the shipped pen data show often enough, measured by
# `python -m benchmarks handwriting` (its per-style table): a 0 slashed through (Ø) and a 1 with a
# long up-stroke (the continental 1) read 4% and 54% before training saw them. They are added to
# real pen strokes, so the result is drawn like any other stroke. Strokes are unit-box (x, y), y down.
SLASHED_ZEROS = 0.5  # share of the 0s drawn with a slash
UP_STROKE_ONES = 0.3  # share of the bare 1s drawn with a long up-stroke


def _line(a, b, n: int = 12) -> np.ndarray:
    return np.linspace(a, b, n).astype(np.float32)


def with_slash(strokes: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """A 0 -> the same 0 with a stroke through it: half the time a slash bottom left to top right,
    through the whole ring and past it or only inside it (Ø); else upright, from above the ring to
    below it (φ, as on small narrow zeros), or across it, past both sides (θ)."""
    pts = np.concatenate(strokes)
    return strokes + [_line(*_stroke_through(pts.min(axis=0), pts.max(axis=0), rng))]


def _stroke_through(lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The ends (x, y; y down) of a stroke through a 0 whose box is lo-hi: see with_slash."""
    size, mid = hi - lo, (lo + hi) / 2
    kind = rng.random()
    if kind < 0.5:
        inset = rng.uniform(0.05, 0.3, 2) * size  # how far in from the box's corners it starts and ends
        reach = rng.uniform(-0.2, 0.2) * size[1]  # > 0: past the ring (as in Ø); < 0: stops inside it
        start = np.array([lo[0] + inset[0], hi[1] + reach])
        end = np.array([hi[0] - inset[1], lo[1] - reach])
    elif kind < 0.75:  # upright: top to bottom, past the ring by a tenth to a quarter of its height
        lean = rng.uniform(-0.15, 0.15) * size[1]
        start = np.array([mid[0] + lean, lo[1] - rng.uniform(0.1, 0.25) * size[1]])
        end = np.array([mid[0] - lean, hi[1] + rng.uniform(0.1, 0.25) * size[1]])
    else:  # across: left to right, past the ring by a sixth to a half of its height
        tilt = rng.uniform(-0.1, 0.1) * size[1]
        start = np.array([lo[0] - rng.uniform(0.15, 0.5) * size[1], mid[1] + tilt])
        end = np.array([hi[0] + rng.uniform(0.15, 0.5) * size[1], mid[1] - tilt])
    return start, end


def with_up_stroke(strokes: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """A bare 1 -> the continental 1: a long stroke from its top down to the left (a tall, narrow ʌ)."""
    pts = np.concatenate(strokes)
    top = pts[pts[:, 1].argmin()]
    height = np.ptp(pts[:, 1])
    angle = np.deg2rad(rng.uniform(50, 75))  # below the horizontal; a 7's bar is near 0
    end = top + rng.uniform(0.35, 0.65) * height * np.array([-np.cos(angle), np.sin(angle)])
    return [_line(end, top)] + strokes


def is_bare_one(strokes: list[np.ndarray]) -> bool:
    """One straight stroke (no point further than a tenth of its length from the line between its
    top and its bottom): a 1 with no flag or foot yet."""
    pts = np.concatenate(strokes)
    top, bottom = pts[pts[:, 1].argmin()], pts[pts[:, 1].argmax()]
    axis = bottom - top
    length = np.hypot(*axis)
    off = np.abs(axis[0] * (pts[:, 1] - top[1]) - axis[1] * (pts[:, 0] - top[0])) / max(length, 1e-6)
    return len(strokes) == 1 and off.max() <= 0.1 * length


def writing_conventions(strokes: list[np.ndarray], label: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Now and then, a convention the data is short of: a slash through a 0, an up-stroke on a bare 1."""
    if label == 0 and rng.random() < SLASHED_ZEROS:
        return with_slash(strokes, rng)
    if label == 1 and is_bare_one(strokes) and rng.random() < UP_STROKE_ONES:
        return with_up_stroke(strokes, rng)
    return strokes
