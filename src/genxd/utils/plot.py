"""Small PNG plots drawn with PIL (no matplotlib dependency): axes with ticks, lines, points.

Used for the camera-path pictures (``genxd.cameras.plot``) and the per-frame error curves of
``genxd eval-camera``. A :class:`Axes` maps data coordinates into a pixel box of an image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from PIL import Image, ImageDraw, ImageFont

__all__ = ["Axes", "nice_ticks", "colour_ramp", "line_chart", "PALETTE", "font"]

#: Distinct line colours (colour-blind friendly, Okabe-Ito).
PALETTE = [(0, 114, 178), (230, 159, 0), (0, 158, 115), (204, 121, 167), (86, 180, 233), (213, 94, 0), (0, 0, 0)]


def font(size: int = 12) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """PIL's built-in font (a scalable one when this Pillow has it)."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering ``[lo, hi]``."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, count)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    v = first
    while v <= hi + 1e-9 * step:
        ticks.append(0.0 if abs(v) < 1e-12 * step else v)
        v += step
    return ticks


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def colour_ramp(t: float) -> tuple[int, int, int]:
    """Blue (t = 0) -> orange (t = 1), for ordering cameras in time."""
    t = min(1.0, max(0.0, t))
    a, b = (40, 80, 200), (235, 120, 20)
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b))  # type: ignore[return-value]


@dataclass
class Axes:
    """A plotting box ``(left, top, right, bottom)`` in pixels for data limits ``xlim``, ``ylim``."""

    draw: ImageDraw.ImageDraw
    box: tuple[int, int, int, int]
    xlim: tuple[float, float]
    ylim: tuple[float, float]

    def to_px(self, x: float, y: float) -> tuple[float, float]:
        l, t, r, b = self.box
        (x0, x1), (y0, y1) = self.xlim, self.ylim
        px = l + (x - x0) / (x1 - x0) * (r - l) if x1 > x0 else (l + r) / 2
        py = b - (y - y0) / (y1 - y0) * (b - t) if y1 > y0 else (t + b) / 2
        return px, py

    def frame(self, title: str = "", xlabel: str = "", ylabel: str = "", grid: bool = True) -> None:
        """Box, ticks with labels, grid, title and axis labels."""
        d, f = self.draw, font(11)
        l, t, r, b = self.box
        for xv in nice_ticks(*self.xlim):
            px, _ = self.to_px(xv, self.ylim[0])
            if grid:
                d.line([(px, t), (px, b)], fill=(225, 225, 225))
            d.line([(px, b), (px, b + 4)], fill=(0, 0, 0))
            d.text((px, b + 6), _fmt(xv), fill=(0, 0, 0), font=f, anchor="mt")
        for yv in nice_ticks(*self.ylim):
            _, py = self.to_px(self.xlim[0], yv)
            if grid:
                d.line([(l, py), (r, py)], fill=(225, 225, 225))
            d.line([(l - 4, py), (l, py)], fill=(0, 0, 0))
            d.text((l - 6, py), _fmt(yv), fill=(0, 0, 0), font=f, anchor="rm")
        d.rectangle([l, t, r, b], outline=(0, 0, 0))
        if title:
            d.text(((l + r) / 2, t - 8), title, fill=(0, 0, 0), font=font(13), anchor="mb")
        if xlabel:
            d.text(((l + r) / 2, b + 24), xlabel, fill=(0, 0, 0), font=f, anchor="mt")
        if ylabel:
            d.text((l, t - 8), ylabel, fill=(60, 60, 60), font=f, anchor="rb" if title else "lb")

    def line(self, xs: Sequence[float], ys: Sequence[float], colour=(0, 0, 0), width: int = 2,
             marker: int = 0) -> None:
        pts = [self.to_px(x, y) for x, y in zip(xs, ys) if math.isfinite(x) and math.isfinite(y)]
        if len(pts) > 1:
            self.draw.line(pts, fill=colour, width=width, joint="curve")
        for px, py in pts if marker else []:
            self.draw.ellipse([px - marker, py - marker, px + marker, py + marker], fill=colour)


def _limits(values: Sequence[float], pad: float = 0.05, include_zero: bool = False) -> tuple[float, float]:
    finite = [v for v in values if math.isfinite(v)]
    if include_zero:
        finite.append(0.0)
    if not finite:
        return 0.0, 1.0
    lo, hi = min(finite), max(finite)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5 * max(abs(lo), 1.0), hi + 0.5 * max(abs(hi), 1.0)
    span = hi - lo
    return lo - pad * span, hi + pad * span


def line_chart(
    panels: Sequence[dict],
    title: str = "",
    panel_size: tuple[int, int] = (420, 260),
) -> Image.Image:
    """Side-by-side line charts.

    Each panel is ``{"title", "xlabel", "ylabel", "series": {label: (xs, ys)}}``; y starts at 0. Returns an
    RGB image (a legend under each panel).
    """
    w, h = panel_size
    margin_l, margin_t, margin_b = 58, 40 if title else 28, 70
    width = len(panels) * (w + margin_l + 16) + 8
    height = margin_t + h + margin_b + (18 if title else 0)
    img = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(img)
    top = margin_t + (18 if title else 0)
    if title:
        d.text((width / 2, 8), title, fill=(0, 0, 0), font=font(14), anchor="mt")
    for k, panel in enumerate(panels):
        left = 8 + k * (w + margin_l + 16) + margin_l
        series = panel.get("series", {})
        xs_all = [x for xs, _ in series.values() for x in xs]
        ys_all = [y for _, ys in series.values() for y in ys]
        ax = Axes(d, (left, top, left + w, top + h), _limits(xs_all, 0.02), _limits(ys_all, 0.08, include_zero=True))
        ax.frame(panel.get("title", ""), panel.get("xlabel", ""), panel.get("ylabel", ""))
        for j, (label, (xs, ys)) in enumerate(series.items()):
            colour = PALETTE[j % len(PALETTE)]
            ax.line(xs, ys, colour, width=2, marker=3)
            lx, ly = left + (j % 3) * (w // 3), top + h + 40 + (j // 3) * 14
            d.line([(lx, ly), (lx + 16, ly)], fill=colour, width=3)
            d.text((lx + 20, ly), str(label), fill=(0, 0, 0), font=font(11), anchor="lm")
    return img
