"""Drawing nuts, bolts and washers with their defects on a conveyor-belt texture (OpenCV, float RGB 0..1).

Part shapes are drawn (uint8 coverage mask and albedo) at ``SS``× the output resolution and shrunk with area
averaging, which keeps one-pixel threads and scratches visible and anti-aliased. Geometry is in units of the
part radius ``r`` around the part centre, rotated by ``theta``. Shading, shadow, lighting and noise are smooth
or per-pixel and are applied at output size. Only cheap OpenCV calls per image: 6,000 crops take seconds.
"""

from __future__ import annotations

import functools
import math

import cv2
import numpy as np

SS = 2
PART_TYPES = ("nut", "bolt", "washer")
DEFECT_KINDS = ("crack", "chipped_edge", "scratch", "rust", "missing_thread")
KINDS_FOR_PART = {"nut": DEFECT_KINDS[:4], "washer": DEFECT_KINDS[:4], "bolt": DEFECT_KINDS}

_SHIFT = 4
_TO_RGB = cv2.COLOR_GRAY2RGB
_ONE = float(1 << _SHIFT)
_BELT_TINTS = np.array(
    [[1.0, 1.0, 1.0], [0.82, 1.0, 0.86], [0.85, 0.95, 1.12], [1.1, 0.96, 0.82], [0.95, 0.95, 0.9]],
    dtype=np.float32,
)
_FINISHES = np.array([[1.0, 1.0, 1.0], [0.94, 0.99, 1.06], [1.0, 0.84, 0.55]], dtype=np.float32)
_FINISH_CDF = np.cumsum([0.55, 0.3, 0.15])
_RUST = np.array([0.55, 0.27, 0.1], dtype=np.float32)


@functools.lru_cache(maxsize=1)
def _textures() -> tuple[np.ndarray, ...]:
    from skimage import data  # CC0 samples inside the scikit-image wheel

    out = []
    for name in ("brick", "grass", "gravel"):
        tex = getattr(data, name)().astype(np.float32)
        out.append((tex - tex.mean()) / (tex.std() + 1e-6))
    return tuple(out)


@functools.lru_cache(maxsize=8)
def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return xs, ys


def background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A belt: a random crop of a shipped texture, low contrast, tinted; float32 h×w×3."""
    textures = _textures()
    tex = textures[rng.integers(len(textures))]
    # 1-3 texture pixels per output pixel, so a 64-px crop shows a few bricks or stones.
    scale = min(float(rng.uniform(1.0, 3.0)), (tex.shape[0] - 1) / max(h, w))
    ch, cw = int(h * scale), int(w * scale)
    y0, x0 = rng.integers(0, tex.shape[0] - ch + 1), rng.integers(0, tex.shape[1] - cw + 1)
    patch = tex[y0 : y0 + ch, x0 : x0 + cw]
    if rng.random() < 0.5:
        patch = patch[::-1]
    patch = cv2.resize(np.ascontiguousarray(patch), (w, h), interpolation=cv2.INTER_AREA)
    gray = float(rng.uniform(0.15, 0.42)) + float(rng.uniform(0.03, 0.08)) * patch
    tint = _BELT_TINTS[rng.integers(len(_BELT_TINTS))] * rng.uniform(0.94, 1.06, 3).astype(np.float32)
    return cv2.merge([gray * float(t) for t in tint])


def _rgb(values: np.ndarray) -> tuple[int, int, int]:
    r, g, b = (min(255, max(0, int(v * 255.0 + 0.5))) for v in values)
    return r, g, b


def _pts(local: np.ndarray, cx: float, cy: float, r: float, theta: float) -> np.ndarray:
    c, s = np.cos(theta) * r * _ONE, np.sin(theta) * r * _ONE
    out = local @ np.array([[c, s], [-s, c]]) + (cx * _ONE, cy * _ONE)
    return np.rint(out).astype(np.int32)


class _Painter:
    """Draws on the part's coverage mask and albedo (both uint8) in part-local coordinates."""

    def __init__(self, h: int, w: int, cx: float, cy: float, r: float, theta: float, base: np.ndarray):
        self.mask = np.zeros((h, w), np.uint8)
        self.albedo = np.empty((h, w, 3), np.uint8)
        cv2.rectangle(self.albedo, (0, 0), (w - 1, h - 1), _rgb(base), -1)  # faster than a[:] = rgb
        self.base = base
        self.cx, self.cy, self.r, self.theta = cx, cy, r, theta

    def px(self, local: np.ndarray) -> np.ndarray:
        return _pts(np.asarray(local, np.float32).reshape(-1, 2), self.cx, self.cy, self.r, self.theta)

    def color(self, factor: float) -> tuple[int, int, int]:
        return _rgb(self.base * factor)

    def poly(self, local: np.ndarray, albedo: tuple | None, mask: int | None = 255) -> None:
        pts = [self.px(local)]
        if mask is not None:
            cv2.fillPoly(self.mask, pts, mask, cv2.LINE_AA, _SHIFT)
        if albedo is not None:
            cv2.fillPoly(self.albedo, pts, albedo, cv2.LINE_8, _SHIFT)

    def circle(self, radius: float, albedo: tuple | None, mask: int | None = 255, thick: int = -1) -> None:
        center = tuple(int(v) for v in self.px([0.0, 0.0])[0])
        rad = round(radius * self.r * _ONE)
        if mask is not None:
            cv2.circle(self.mask, center, rad, mask, thick, cv2.LINE_AA, _SHIFT)
        if albedo is not None:
            cv2.circle(self.albedo, center, rad, albedo, thick, cv2.LINE_8, _SHIFT)

    def line(self, local: np.ndarray, albedo: tuple, thick: int) -> None:
        cv2.polylines(self.albedo, [self.px(local)], False, albedo, thick, cv2.LINE_8, _SHIFT)

    def ellipse(self, center: np.ndarray, axes: tuple[float, float], angle: float, albedo: tuple) -> None:
        c = tuple(int(v) for v in self.px(center)[0])
        ax = (int(axes[0] * self.r * _ONE), int(axes[1] * self.r * _ONE))
        deg = float(np.degrees(angle + self.theta))
        cv2.ellipse(self.albedo, c, ax, deg, 0, 360, albedo, -1, cv2.LINE_8, _SHIFT)


def _draw_nut(p: _Painter, rng: np.random.Generator) -> float:
    ang = np.arange(6) * np.pi / 3
    p.poly(np.stack([np.cos(ang), np.sin(ang)], 1), p.color(0.78))
    p.circle(0.87, p.color(1.0), mask=None)
    hole = rng.uniform(0.4, 0.5)
    p.circle(hole + 0.1, p.color(0.5), mask=None, thick=max(2, int(0.08 * p.r)))
    p.circle(hole, None, mask=0)
    return hole


def _draw_washer(p: _Painter, rng: np.random.Generator) -> float:
    p.circle(1.0, p.color(0.85))
    p.circle(0.93, p.color(1.0), mask=None)
    hole = rng.uniform(0.38, 0.52)
    p.circle(hole + 0.05, p.color(0.75), mask=None)
    p.circle(hole, None, mask=0)
    return hole


def _draw_bolt(p: _Painter, rng: np.random.Generator, defect_rng: np.random.Generator | None) -> None:
    head = np.array([[-1.0, -0.48], [-0.58, -0.48], [-0.58, 0.48], [-1.0, 0.48]])
    p.poly(head, p.color(0.75))
    p.poly(np.array([[-1.0, -0.2], [-0.58, -0.2], [-0.58, 0.2], [-1.0, 0.2]]), p.color(1.05), mask=None)
    shank = np.array([[-0.6, -0.19], [0.92, -0.19], [1.0, -0.12], [1.0, 0.12], [0.92, 0.19], [-0.6, 0.19]])
    p.poly(shank, p.color(0.95))
    p.poly(np.array([[-0.58, -0.1], [0.95, -0.1], [0.95, -0.02], [-0.58, -0.02]]), p.color(1.15), mask=None)
    pitch = rng.uniform(0.13, 0.16)
    start, end = rng.uniform(-0.4, -0.15), 0.97
    gap = (2.0, 2.0)
    if defect_rng is not None:
        # A stripped stretch: no thread lines or crests, worn thinner and polished bright.
        length = (end - start) * defect_rng.uniform(0.6, 0.8)
        g0 = defect_rng.uniform(start, end - length)
        g1 = g0 + length
        gap = (g0, g1)
        p.poly(np.array([[g0, -0.2], [g1, -0.2], [g1, 0.2], [g0, 0.2]]), p.color(1.3), None)
        for sy in (1.0, -1.0):
            p.poly(np.array([[g0, 0.13 * sy], [g1, 0.13 * sy], [g1, 0.25 * sy], [g0, 0.25 * sy]]), None, 0)
    xs = np.arange(start, end - 0.03, pitch)
    xs = xs[(xs < gap[0] - 0.02) | (xs > gap[1])]
    if len(xs):
        k = len(xs)
        lines = p.px(np.stack([xs, np.full(k, -0.2), xs + 0.5 * pitch, np.full(k, 0.2)], 1)).reshape(k, 2, 2)
        cv2.polylines(p.albedo, list(lines), False, p.color(0.35), SS + 1, cv2.LINE_8, _SHIFT)
        tooth = np.stack([xs, np.full(k, 0.19), xs + 0.25 * pitch, np.full(k, 0.23), xs + 0.5 * pitch], 1)
        tooth = np.concatenate([tooth, np.full((k, 1), 0.19)], 1).reshape(k, 3, 2)
        teeth = np.concatenate([tooth, tooth * [1.0, -1.0]])
        cv2.fillPoly(p.mask, list(p.px(teeth).reshape(-1, 3, 2)), 255, cv2.LINE_AA, _SHIFT)


def _material_point(part: str, hole: float, rng: np.random.Generator) -> np.ndarray:
    if part == "bolt":
        if rng.random() < 0.7:
            return np.array([rng.uniform(-0.45, 0.8), rng.uniform(-0.1, 0.1)])
        return np.array([rng.uniform(-0.92, -0.66), rng.uniform(-0.35, 0.35)])
    rad, ang = rng.uniform(hole + 0.12, 0.78), rng.uniform(0, 2 * np.pi)
    return np.array([rad * np.cos(ang), rad * np.sin(ang)])


def _edge_point(part: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A point on the outline and the outward normal there."""
    if part == "nut":
        ang = rng.integers(6) * np.pi / 3 + (rng.uniform(-0.25, 0.25) if rng.random() < 0.4 else 0.0)
        return np.array([np.cos(ang), np.sin(ang)]) * 0.98, np.array([np.cos(ang), np.sin(ang)])
    if part == "washer":
        ang = rng.uniform(0, 2 * np.pi)
        return np.array([np.cos(ang), np.sin(ang)]), np.array([np.cos(ang), np.sin(ang)])
    sy = rng.choice([-1.0, 1.0])
    choice = rng.integers(3)
    if choice == 0:  # head corner
        sx = rng.choice([-1.0, -0.58])
        return np.array([sx, 0.48 * sy]), np.array([-0.6 if sx < -0.9 else 0.6, 0.8 * sy])
    if choice == 1:  # tip
        return np.array([1.0, 0.1 * sy]), np.array([0.8, 0.6 * sy])
    return np.array([rng.uniform(-0.3, 0.7), 0.2 * sy]), np.array([0.0, sy])


def _draw_defect(p: _Painter, part: str, kind: str, hole: float, rng: np.random.Generator) -> None:
    if kind == "crack":
        start = _material_point(part, hole, rng)
        ang = rng.uniform(0, 2 * np.pi) if part != "bolt" or start[0] < -0.6 else rng.uniform(-0.4, 0.4)
        dark = _rgb(rng.uniform(0.03, 0.1) * np.ones(3))
        for direction in (ang, ang + np.pi):
            pts, a = [start], direction
            for _ in range(rng.integers(2, 4)):
                a += rng.uniform(-0.6, 0.6)
                pts.append(pts[-1] + rng.uniform(0.15, 0.25) * np.array([np.cos(a), np.sin(a)]))
            p.line(np.array(pts), dark, int(rng.integers(2 * SS - 1, 3 * SS)))
    elif kind == "chipped_edge":
        edge, normal = _edge_point(part, rng)
        tangent = np.array([-normal[1], normal[0]])
        depth, width = rng.uniform(0.35, 0.5), rng.uniform(0.7, 1.0)
        j = rng.uniform(-0.08, 0.08, (3, 2))
        chip = [
            edge + tangent * width / 2 + normal * 0.3,
            edge + tangent * width * 0.4 - normal * depth * 0.45 + j[0],
            edge - normal * depth + tangent * rng.uniform(-0.1, 0.1) + j[1],
            edge - tangent * width * 0.4 - normal * depth * 0.5 + j[2],
            edge - tangent * width / 2 + normal * 0.3,
        ]
        # The fresh fracture face shows as a bright rough rim.
        p.line(np.array(chip), _rgb(p.base * 1.4 + 0.15), 3 * SS)
        p.poly(np.array(chip), None, mask=0)
    elif kind == "scratch":
        for _ in range(rng.integers(1, 3)):
            mid = _material_point(part, hole, rng)
            a = rng.uniform(-0.5, 0.5) if part == "bolt" and mid[0] > -0.6 else rng.uniform(0, np.pi)
            d, n = np.array([np.cos(a), np.sin(a)]), np.array([-np.sin(a), np.cos(a)])
            half = rng.uniform(0.55, 0.8)
            pts = np.array([mid - d * half, mid + n * rng.uniform(-0.08, 0.08), mid + d * half])
            # Bright on dull metal, a dark groove on shiny metal: always visible.
            tone = p.base * 0.3 if p.base.mean() > 0.62 else p.base * 1.6 + 0.3
            p.line(pts, _rgb(tone), 2 * SS + 1)
    elif kind == "rust":
        center = _material_point(part, hole, rng)
        tone = _RUST * rng.uniform(0.75, 1.2)
        for i in range(rng.integers(2, 5)):
            c = center + rng.normal(0, 0.08, 2)
            axes = (rng.uniform(0.12, 0.25), rng.uniform(0.08, 0.18))
            shade = tone * (0.7 if i == 0 else rng.uniform(0.85, 1.15))
            p.ellipse(c, axes, rng.uniform(0, np.pi), _rgb(shade))


def draw_part(
    bg: np.ndarray,
    cx: float,
    cy: float,
    r: float,
    theta: float,
    part: str,
    kind: str,
    rng: np.random.Generator,
    defect_rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Composite one part over float RGB ``bg``; centre and radius in ``bg`` pixels. Returns (image, coverage).

    The defect's own randomness comes from ``defect_rng`` (default ``rng``): with a separate stream, an ok
    and a defective part drawn from the same ``rng`` state differ only by the defect. Shapes are drawn at SS×
    and shrunk; shading and shadow are smooth, so they are applied at ``bg`` size.
    """
    h, w = bg.shape[:2]
    cx, cy, r = float(cx), float(cy), float(r)
    finish = _FINISHES[int(np.searchsorted(_FINISH_CDF, rng.random()))]
    base = (finish * rng.uniform(0.55, 0.85)).astype(np.float32)
    p = _Painter(h * SS, w * SS, cx * SS, cy * SS, r * SS, float(theta), base)
    defect_rng = rng if defect_rng is None else defect_rng
    hole = 0.0
    if part == "nut":
        hole = _draw_nut(p, rng)
    elif part == "washer":
        hole = _draw_washer(p, rng)
    else:
        _draw_bolt(p, rng, defect_rng if kind == "missing_thread" else None)
    if kind not in ("none", "missing_thread"):
        _draw_defect(p, part, kind, hole, defect_rng)
    # Per-pixel factors are replicated to 3 channels with cvtColor: numpy's [..., None] broadcast is slow here.
    paint = cv2.multiply(p.albedo, cv2.cvtColor(p.mask, _TO_RGB), scale=1.0 / 255.0)
    paint = cv2.resize(paint, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
    alpha = cv2.resize(p.mask, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) * np.float32(1 / 255)
    xs, ys = _grid(h, w)
    phi, grad = float(rng.uniform(0, 2 * np.pi)), float(rng.uniform(0.0, 0.25)) / r
    hx, hy = cx + r * float(rng.uniform(-0.6, 0.6)), cy + r * float(rng.uniform(-0.6, 0.6))
    shade = (xs - cx) * (grad * math.cos(phi)) + (ys - cy) * (grad * math.sin(phi)) + 1.0
    shade += float(rng.uniform(0.0, 0.35)) * np.exp(((xs - hx) ** 2 + (ys - hy) ** 2) * (-2.0 / (r * r)))
    shift = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    shadow = cv2.GaussianBlur(np.roll(alpha, shift, axis=(0, 1)), (0, 0), 1.5)
    keep = (1.0 - alpha) * (1.0 - 0.45 * shadow)
    out = cv2.multiply(np.ascontiguousarray(bg), cv2.cvtColor(keep, _TO_RGB))
    out += cv2.multiply(paint, cv2.cvtColor(shade * np.float32(1 / 255), _TO_RGB))
    return out, alpha


def finish_batch(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Lighting gradient, colour cast, blur and sensor noise on float B×H×W×3 images; uint8 B×H×W×3."""
    b, h, w = images.shape[:3]
    xs, ys = _grid(h, w)
    phi = rng.uniform(0, 2 * np.pi, b)
    gain, slope = rng.uniform(0.75, 1.2, b), rng.uniform(0.0, 0.35, b)
    # light = gain * (1 + slope * ramp), ramp running -1..1 across the image along phi.
    kx, ky = gain * slope * np.cos(phi) * 2 / w, gain * slope * np.sin(phi) * 2 / h
    k0 = gain * (1.0 - slope * (np.cos(phi) + np.sin(phi)))
    cast = rng.uniform(0.94, 1.06, (b, 3)) * 255.0
    sigma = rng.uniform(0.0, 0.6, b)
    # Sensor noise: shifted windows of one field per batch (a fresh field per image would cost more than
    # all the drawing).
    field = rng.standard_normal((2 * h, 2 * w, 3), dtype=np.float32) * np.float32(255.0)
    oy, ox = rng.integers(0, h + 1, b), rng.integers(0, w + 1, b)
    level = rng.uniform(0.005, 0.03, b)
    out = np.empty((b, h, w, 3), np.uint8)
    for i in range(b):
        light = xs * float(kx[i]) + ys * float(ky[i]) + float(k0[i])
        img = cv2.multiply(images[i], cv2.merge([light * float(c) for c in cast[i]]))
        if sigma[i] > 0.3:
            img = cv2.GaussianBlur(img, (0, 0), float(sigma[i]))
        img += field[oy[i] : oy[i] + h, ox[i] : ox[i] + w] * float(level[i])
        img += 0.5
        out[i] = np.clip(img, 0, 255)
    return out
