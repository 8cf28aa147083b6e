"""Synthetic scenes with exact instance masks, the demo model's training and evaluation data.

A scene is a background (flat, gradient, sky over wavy ground, texture) with objects painted in order:
balls, ellipses, polygons, rectangles, stars, rings, thin bars and houses. A house is an object with parts
(walls, roof, windows, a door), each an instance of its own inside the house's, so a single click on a
window is truly ambiguous (window, walls, house). Later objects occlude earlier ones; every instance's
mask is what stays visible of it. Fills are flat, gradients, sphere shading, stripes, checks or noise;
the whole image may get noise and blur afterwards. Everything is drawn from one numpy Generator, so a
seed fixes a scene.
"""
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

MIN_AREA = 24  # instances with fewer visible pixels are dropped: too small to click on


def _color(rng, dark=0.0):
    c = rng.uniform(dark, 1.0, 3) * 255
    return c.astype(np.float32)


def _fill(rng, h, w, kind=None):
    """An H x W x 3 float texture for one region."""
    kind = kind or rng.choice(["flat", "flat", "linear", "radial", "stripes", "checks", "noise"])
    a, b = _color(rng), _color(rng)
    if rng.random() < 0.5:  # low-contrast pairs make the boundary, not the texture, the cue
        b = np.clip(a + rng.normal(0, 40, 3), 0, 255).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == "flat":
        return np.broadcast_to(a, (h, w, 3)).copy()
    if kind == "linear":
        t = rng.uniform(0, 2 * math.pi)
        u = xx * math.cos(t) + yy * math.sin(t)
        u = (u - u.min()) / max(np.ptp(u), 1)
    elif kind == "radial":
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.3, 1.0) * max(h, w)
        u = np.clip(np.hypot(xx - cx, yy - cy) / r, 0, 1)
    elif kind == "stripes":
        t, p = rng.uniform(0, math.pi), rng.uniform(4, 14)
        u = (np.sin((xx * math.cos(t) + yy * math.sin(t)) * 2 * math.pi / p) > 0).astype(np.float32)
    elif kind == "checks":
        p = int(rng.integers(4, 14))
        u = (((xx // p) + (yy // p)) % 2).astype(np.float32)
    else:
        u = rng.random((h, w)).astype(np.float32)
    return a + (b - a) * u[..., None]


def _polygon_mask(h, w, points):
    img = Image.new("L", (w, h), 0)
    ImageDraw.Draw(img).polygon([tuple(map(float, p)) for p in points], fill=255)
    return np.asarray(img) > 127


def _ellipse_mask(h, w, cx, cy, rx, ry, angle=0.0):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5
    c, s = math.cos(angle), math.sin(angle)
    u, v = (xx - cx) * c + (yy - cy) * s, -(xx - cx) * s + (yy - cy) * c
    return (u / rx) ** 2 + (v / ry) ** 2 <= 1.0


def _rect_points(cx, cy, half_w, half_h, angle):
    c, s = math.cos(angle), math.sin(angle)
    return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in
            [(-half_w, -half_h), (half_w, -half_h), (half_w, half_h), (-half_w, half_h)]]


def _shape(rng, h, w, kind, size):
    """The mask of one simple shape of the given kind, centred somewhere in the image."""
    cx, cy = rng.uniform(0.05, 0.95) * w, rng.uniform(0.05, 0.95) * h
    if kind == "ball":
        return _ellipse_mask(h, w, cx, cy, size, size)
    if kind == "ellipse":
        return _ellipse_mask(h, w, cx, cy, size, size * rng.uniform(0.35, 0.9), rng.uniform(0, math.pi))
    if kind == "ring":
        r_out, angle, squash = size, rng.uniform(0, math.pi), rng.uniform(0.6, 1.0)
        r_in = r_out * rng.uniform(0.45, 0.75)
        return (_ellipse_mask(h, w, cx, cy, r_out, r_out * squash, angle)
                & ~_ellipse_mask(h, w, cx, cy, r_in, r_in * squash, angle))
    if kind == "rect":
        return _polygon_mask(h, w, _rect_points(cx, cy, size, size * rng.uniform(0.4, 1.0),
                                                rng.uniform(0, math.pi) if rng.random() < 0.5 else 0.0))
    if kind == "bar":
        return _polygon_mask(h, w, _rect_points(cx, cy, size * rng.uniform(1.5, 3.0), rng.uniform(1.0, 2.5),
                                                rng.uniform(0, math.pi)))
    if kind == "star":
        n, inner = int(rng.integers(5, 8)), rng.uniform(0.35, 0.6)
        t0 = rng.uniform(0, 2 * math.pi)
        pts = [(cx + size * (1 if i % 2 == 0 else inner) * math.cos(t0 + i * math.pi / n),
                cy + size * (1 if i % 2 == 0 else inner) * math.sin(t0 + i * math.pi / n)) for i in range(2 * n)]
        return _polygon_mask(h, w, pts)
    # polygon: random radii around the centre, convex or not
    n = int(rng.integers(3, 9))
    angles = np.sort(rng.uniform(0, 2 * math.pi, n))
    radii = size * rng.uniform(0.5, 1.0, n)
    return _polygon_mask(h, w, [(cx + r * math.cos(a), cy + r * math.sin(a)) for r, a in zip(radii, angles)])


def _house(rng, h, w, size):
    """Parts of a house as (kind, mask) pairs; the house itself is their union."""
    bw, bh = size * rng.uniform(1.2, 2.0), size * rng.uniform(0.9, 1.5)
    x0, y1 = rng.uniform(0, max(w - bw, 1)), rng.uniform(min(bh * 1.4, h * 0.9), h)
    y0, x1 = y1 - bh, x0 + bw
    walls = _polygon_mask(h, w, [(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
    overhang, roof_h = bw * rng.uniform(0.0, 0.15), bh * rng.uniform(0.35, 0.8)
    roof = _polygon_mask(h, w, [(x0 - overhang, y0), (x1 + overhang, y0), ((x0 + x1) / 2, y0 - roof_h)]) & ~walls
    parts = [("walls", walls), ("roof", roof)]
    n_win = int(rng.integers(1, 4))
    win = bw * rng.uniform(0.14, 0.24)
    slots = np.linspace(x0 + bw * 0.1, x1 - bw * 0.1 - win, n_win) if n_win > 1 else [x0 + bw * rng.uniform(0.15, 0.6)]
    wy = y0 + bh * rng.uniform(0.15, 0.35)
    for sx in slots:
        parts.append(("window", _polygon_mask(h, w, [(sx, wy), (sx + win, wy), (sx + win, wy + win), (sx, wy + win)])))
    if rng.random() < 0.6:
        dw = bw * rng.uniform(0.15, 0.22)
        dx = x0 + bw * rng.uniform(0.55, 0.8) - dw
        parts.append(("door", _polygon_mask(h, w, [(dx, y1 - bh * 0.45), (dx + dw, y1 - bh * 0.45), (dx + dw, y1), (dx, y1)])))
    return parts


OBJECT_KINDS = ["ball", "ellipse", "ring", "rect", "bar", "star", "polygon", "house"]


def _background(rng, h, w):
    """The background image and the masks of its own regions (ground) that count as instances."""
    kind = rng.choice(["flat", "gradient", "landscape", "landscape", "texture"])
    if kind == "flat":
        return _fill(rng, h, w, "flat"), []
    if kind == "gradient":
        return _fill(rng, h, w, "linear"), []
    if kind == "texture":
        return _fill(rng, h, w, rng.choice(["stripes", "checks", "noise"])), []
    sky = _fill(rng, h, w, "linear")
    xx = np.arange(w, dtype=np.float32)
    level = h * rng.uniform(0.45, 0.8)
    amp, period, phase = h * rng.uniform(0.0, 0.06), w * rng.uniform(0.4, 1.5), rng.uniform(0, 2 * math.pi)
    horizon = level + amp * np.sin(xx * 2 * math.pi / period + phase)
    ground = np.arange(h, dtype=np.float32)[:, None] + 0.5 >= horizon[None, :]
    image = np.where(ground[..., None], _fill(rng, h, w, rng.choice(["flat", "linear", "noise"])), sky)
    return image, [("ground", ground)]


def make_scene(rng, height, width):
    """One scene: (uint8 H x W x 3 image, list of {"kind", "mask"} instances, visible masks only)."""
    h, w = height, width
    image, regions = _background(rng, h, w)
    # owner: which top-level item (0 = background regions, k = k-th object) shows at each pixel
    owner = np.zeros((h, w), np.int32)
    items = [regions]  # items[k]: list of (kind, mask) of top-level item k; item 0's parts do not nest
    n_objects = int(rng.integers(2, 9))
    for k in range(1, n_objects + 1):
        kind = rng.choice(OBJECT_KINDS, p=[0.15, 0.1, 0.1, 0.12, 0.1, 0.1, 0.13, 0.2])
        size = rng.uniform(0.06, 0.28) * min(h, w)
        if kind == "house":
            parts = _house(rng, h, w, size)
            union = np.zeros((h, w), bool)
            for part_kind, m in parts:
                union |= m
                image = np.where(m[..., None], _fill(rng, h, w), image)
            parts = [("house", union)] + parts
        else:
            union = _shape(rng, h, w, kind, size)
            image = np.where(union[..., None], _fill(rng, h, w), image)
            parts = [(kind, union)]
        owner[union] = k
        items.append(parts)
    instances = []
    for k, parts in enumerate(items):
        for kind, m in parts:
            visible = m & (owner == k)
            if visible.sum() >= MIN_AREA:
                instances.append({"kind": str(kind), "mask": visible})
    if rng.random() < 0.5:
        image = image + rng.normal(0, rng.uniform(1, 10), image.shape)
    out = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    if rng.random() < 0.4:
        out = out.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    return np.asarray(out), instances


def scene_size(rng, longest):
    """A random aspect ratio with the given longest side."""
    short = int(round(longest * rng.choice([1.0, 0.75, 0.75, 0.5625, 0.66])))
    return (short, longest) if rng.random() < 0.7 else (longest, short)


def interior_point(mask):
    """The mask pixel farthest from the boundary (4-connected erosion depth), nearest the centroid among ties."""
    depth = np.zeros(mask.shape, np.int32)
    cur = mask.copy()
    while cur.any():
        depth += cur
        padded = np.pad(cur, 1)
        cur = cur & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    ys, xs = np.nonzero(depth == depth.max())
    cy, cx = np.nonzero(mask)
    d = (ys - cy.mean()) ** 2 + (xs - cx.mean()) ** 2
    i = int(np.argmin(d))
    return int(xs[i]), int(ys[i])


def bounding_box(mask):
    ys, xs = np.nonzero(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())]


def binary_iou(a, b):
    """Intersection over union of two boolean masks of one shape (0 when both are empty)."""
    return (a & b).sum() / max((a | b).sum(), 1)
