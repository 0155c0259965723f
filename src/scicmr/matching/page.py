"""A figure photographed inside its printed page: the query of a real phone photo.

:func:`compose_page` draws a padded canvas: a desk (coloured, textured) with a sheet of paper
on it, the figure on the paper, columns of text lines around it (random words drawn with
PIL's default font), and a neighbouring figure (a caller's image, or synthetic plot strokes).
The camera's frame is a rectangle of the canvas chosen so that the figure covers a drawn
fraction (in [0.25, 0.6]) of it. :func:`photograph` then takes the picture: the frame is
turned, tilted (each corner moved by up to ``tilt`` of the frame) and resampled to the
output size in one perspective warp, so the exposed corners show more desk, never a fill
colour; then uneven lighting, a colour cast, blur, sensor noise and JPEG.

Every step draws from one numpy generator, so a seed fixes the bytes. The figure's corners
are carried through the warp: ``params["quad"]`` is the (4, 2) list of its corners (top-left,
top-right, bottom-right, bottom-left) in output pixels and ``params["area_fraction"]`` the
quadrilateral's share of the output frame.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

FIGURE_SIDE = 600  # the figure's long side on the canvas (px)
AREA = (0.25, 0.6)  # range of the figure's share of the frame
FIT = 0.8  # the figure spans at most this share of the frame's width and height
PAD = 0.3  # canvas margin around the frame, as a share of its long side (room to turn and tilt)
DESKS = ((120, 84, 52), (160, 120, 80), (70, 70, 75), (200, 200, 195), (40, 55, 80), (95, 110, 90))
LETTERS = "etaoinshrdlucmfwypvbgkqjxz"


def _desk(size: tuple[int, int], rng) -> Any:
    """A desk: a base colour, a low-frequency mottle, wood-grain-like stripes, fine noise."""
    from PIL import Image

    w, h = size
    base = np.asarray(DESKS[int(rng.integers(len(DESKS)))], dtype=np.float32)
    coarse = rng.normal(0, 12, (8, 8)).astype(np.float32)
    mottle = np.asarray(Image.fromarray(coarse, mode="F").resize((w, h), Image.BICUBIC))
    yy = np.arange(h, dtype=np.float32)[:, None]
    grain = 6 * np.sin(2 * np.pi * yy / rng.uniform(8, 30) + rng.uniform(0, 6)) * rng.random()
    pixels = base + (mottle + grain)[..., None] + rng.normal(0, 3, (h, w, 1)).astype(np.float32)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def synthetic_plot(size: tuple[int, int], rng) -> Any:
    """An RGB line plot of ``size`` (w, h): axes, ticks, grid and 2-3 random curves."""
    from PIL import Image, ImageDraw

    w, h = size
    image = Image.new("RGB", (w, h), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    x0, y0, x1, y1 = 0.12 * w, 0.06 * h, 0.97 * w, 0.85 * h
    for t in np.linspace(0, 1, 6):
        draw.line([(x0 + t * (x1 - x0), y1), (x0 + t * (x1 - x0), y1 + 5)], fill=(0, 0, 0), width=1)
        draw.line([(x0, y0 + t * (y1 - y0)), (x1, y0 + t * (y1 - y0))], fill=(225, 225, 225), width=1)
    draw.rectangle([x0, y0, x1, y1], outline=(0, 0, 0), width=2)
    xs = np.linspace(x0, x1, 40)
    for _ in range(int(rng.integers(2, 4))):
        walk = np.cumsum(rng.normal(0, 1, xs.size))
        walk = (walk - walk.min()) / max(np.ptp(walk), 1e-6)
        colour = tuple(int(c) for c in rng.integers(0, 200, 3))
        draw.line(list(zip(xs, y1 - 0.05 * h - walk * 0.8 * (y1 - y0))), fill=colour, width=2)
    return image


def _overlaps(box, others, gap: float) -> bool:
    return any(box[0] < o[2] + gap and box[2] > o[0] - gap and box[1] < o[3] + gap and box[3] > o[1] - gap
               for o in others)


def _text_lines(draw, page_box, avoid, rng, line_h: float, column: float) -> int:
    """Columns of text lines (random words) over ``page_box``, skipping the ``avoid`` boxes.
    Returns the number of lines drawn."""
    from PIL import ImageFont

    font = ImageFont.load_default(size=max(6, int(round(line_h * 0.72))))
    x0, y0, x1, y1 = page_box
    gutter, drawn = 0.06 * column, 0
    ink = int(rng.integers(15, 70))
    cx = x0 + rng.uniform(0.04, 0.08) * (x1 - x0)
    while cx + 0.5 * column < x1:
        y = y0 + rng.uniform(0.03, 0.06) * (y1 - y0)
        while y + line_h < y1 - 0.03 * (y1 - y0):
            end = cx + column * (rng.uniform(0.3, 0.9) if rng.random() < 0.12 else 1.0)
            if not _overlaps((cx, y, end, y + line_h), avoid, 0.5 * line_h):
                words = " ".join("".join(rng.choice(list(LETTERS), int(rng.integers(1, 10))))
                                 for _ in range(max(1, int((end - cx) / (line_h * 2.6)))))
                draw.text((cx, y), words, font=font, fill=(ink, ink, ink))
                drawn += 1
            y += line_h * rng.uniform(1.3, 1.45) if rng.random() > 0.04 else line_h * 2.5
        cx += column + gutter
    return drawn


def _frame(fw: int, fh: int, rng) -> tuple[float, float, float]:
    """(frame width, frame height, drawn area fraction): the figure covers about the drawn
    share of a 4:3 or 3:4 frame, fitting in ``FIT`` of each side (a larger frame if not)."""
    target = rng.uniform(*AREA)
    ratio = 4 / 3 if rng.random() < 0.5 else 3 / 4
    area = fw * fh / target
    width, height = np.sqrt(area * ratio), np.sqrt(area / ratio)
    grow = max(1.0, fw / (FIT * width), fh / (FIT * height))
    return width * grow, height * grow, float(target)


def _neighbour_box(fig_box, rng) -> tuple[float, float, float, float]:
    """A box beside the figure (above, below, left or right) that reaches into the frame."""
    fx0, fy0, fx1, fy1 = fig_box
    w, h = (fx1 - fx0) * rng.uniform(0.6, 1.0), (fy1 - fy0) * rng.uniform(0.6, 1.0)
    gap = 0.08 * max(fx1 - fx0, fy1 - fy0)
    side = int(rng.integers(4))
    if side == 0:
        return fx0, fy0 - gap - h, fx0 + w, fy0 - gap
    if side == 1:
        return fx0, fy1 + gap, fx0 + w, fy1 + gap + h
    if side == 2:
        return fx0 - gap - w, fy0, fx0 - gap, fy0 + h
    return fx1 + gap, fy0, fx1 + gap + w, fy0 + h


def compose_page(figure, rng, neighbour=None) -> tuple[Any, np.ndarray, np.ndarray, dict[str, Any]]:
    """Lay ``figure`` (RGB PIL) out on a printed page on a desk.

    Returns (canvas RGB PIL image, figure corners (4, 2) canvas px, frame rectangle corners
    (4, 2) canvas px, parameters).
    """
    from PIL import Image, ImageDraw

    scale = FIGURE_SIDE / max(figure.size)
    fw, fh = max(8, round(figure.width * scale)), max(8, round(figure.height * scale))
    width, height, target = _frame(fw, fh, rng)
    pad = PAD * max(width, height)
    canvas_size = (int(np.ceil(width + 2 * pad)), int(np.ceil(height + 2 * pad)))
    fx = pad + rng.uniform(0.5 * (1 - FIT), 1.0 - 0.5 * (1 - FIT)) * (width - fw) if width > fw else pad
    fy = pad + rng.uniform(0.5 * (1 - FIT), 1.0 - 0.5 * (1 - FIT)) * (height - fh) if height > fh else pad
    fig_box = (fx, fy, fx + fw, fy + fh)
    canvas = _desk(canvas_size, rng)
    # The page reaches past the figure by a random margin on each side: sometimes off-frame.
    reach = rng.uniform([0.05, 0.05, 0.05, 0.05], [0.9, 0.9, 0.9, 0.9]) * [width, height, width, height]
    page_box = (max(0, fx - reach[0]), max(0, fy - reach[1]), min(canvas_size[0], fx + fw + reach[2]),
                min(canvas_size[1], fy + fh + reach[3]))
    paper = tuple(int(c) for c in np.asarray([250, 249, 244]) - rng.integers(0, 14, 3))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle(page_box, fill=paper)
    box = _neighbour_box(fig_box, rng)
    # The neighbour lies on the paper: its box is cut to the page (it may be cut away).
    n_box = (max(box[0], page_box[0]), max(box[1], page_box[1]), min(box[2], page_box[2]), min(box[3], page_box[3]))
    n_size = (int(n_box[2] - n_box[0]), int(n_box[3] - n_box[1]))
    shown = min(n_size) >= 16
    if shown:  # the cut neighbour shows the part of the full image that falls on the page
        full = neighbour.convert("RGB") if neighbour is not None else synthetic_plot((int(box[2] - box[0]), int(box[3] - box[1])), rng)
        full = full.resize((int(box[2] - box[0]), int(box[3] - box[1])), Image.BICUBIC)
        left, top = int(n_box[0] - box[0]), int(n_box[1] - box[1])
        canvas.paste(full.crop((left, top, left + n_size[0], top + n_size[1])), (int(n_box[0]), int(n_box[1])))
    line_h = fw * rng.uniform(1 / 45, 1 / 28)
    lines = _text_lines(draw, page_box, [fig_box, n_box] if shown else [fig_box], rng, line_h,
                        column=max(fw, 0.3 * width))
    canvas.paste(figure.convert("RGB").resize((fw, fh), Image.LANCZOS), (int(fx), int(fy)))
    corners = np.array([[int(fx), int(fy)], [int(fx) + fw, int(fy)], [int(fx) + fw, int(fy) + fh],
                        [int(fx), int(fy) + fh]], dtype=np.float64)
    frame = np.array([[pad, pad], [pad + width, pad], [pad + width, pad + height], [pad, pad + height]])
    params = {"drawn_area_fraction": round(target, 4), "text_lines": lines,
              "neighbour": ("image" if neighbour is not None else "synthetic plot") if shown else "none"}
    return canvas, corners, frame, params


def homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 3x3 homography mapping the 4 ``src`` points onto the 4 ``dst`` points ((4, 2) each)."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(src, dst):
        rows += [[x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y]]
        rhs += [u, v]
    return np.append(np.linalg.solve(np.asarray(rows, dtype=np.float64), np.asarray(rhs, dtype=np.float64)), 1.0).reshape(3, 3)


def apply_homography(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(n, 2) points mapped by a 3x3 homography."""
    moved = np.c_[np.asarray(points, dtype=np.float64), np.ones(len(points))] @ matrix.T
    return moved[:, :2] / moved[:, 2:3]


def polygon_area(points: np.ndarray) -> float:
    """Area of a simple polygon ((n, 2) vertices in order), shoelace formula."""
    x, y = np.asarray(points, dtype=np.float64).T
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


# Strength of the camera chain: tilt (corner shift, share of the frame), turn (degrees),
# lighting fall-off, blur radius (px at the output), noise sigma, JPEG quality, output long side.
STRENGTHS = {
    "page": {"tilt": 0.04, "turn": (2.0, 5.0), "light": (0.0, 0.15), "blur": (0.0, 0.6), "noise": (0.0, 2.0),
             "quality": (70, 91), "side": (1000, 1400)},
    "photo": {"tilt": 0.10, "turn": (2.0, 10.0), "light": (0.1, 0.45), "blur": (0.4, 1.8), "noise": (1.5, 5.0),
              "quality": (40, 86), "side": (800, 1600)},
}


def _view(frame: np.ndarray, rng, tilt: float, turn: tuple[float, float]) -> tuple[np.ndarray, float]:
    """The canvas quadrilateral the camera sees ((4, 2)): the frame turned about its centre by
    ±turn degrees and each corner moved by up to ``tilt`` of the frame's sides."""
    angle = float(rng.uniform(*turn) * rng.choice([-1, 1]))
    centre = frame.mean(axis=0)
    theta = np.deg2rad(angle)
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    sides = frame[2] - frame[0]
    return (frame - centre) @ rotation.T + centre + rng.uniform(-tilt, tilt, (4, 2)) * sides, angle


def _lighting(pixels: np.ndarray, rng, light: tuple[float, float]) -> tuple[np.ndarray, dict[str, float]]:
    """Uneven light: a linear fall-off (share ``light``) along a random direction, a vignette
    and a colour cast, on (h, w, 3) float pixels."""
    h, w = pixels.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    direction = rng.uniform(0, 2 * np.pi)
    ramp = (xx / w - 0.5) * np.cos(direction) + (yy / h - 0.5) * np.sin(direction) + 0.5
    fall = float(rng.uniform(*light))
    radius = ((xx / w - 0.5) ** 2 + (yy / h - 0.5) ** 2) * 2
    vignette = float(rng.uniform(0.0, 0.25))
    gain = (1 - fall * np.clip(ramp, 0, 1)) * (1 - vignette * radius)
    cast = rng.uniform(0.92, 1.08, 3)
    params = {"falloff": round(fall, 4), "vignette": round(vignette, 4), "cast": np.round(cast, 4).tolist()}
    return pixels * gain[..., None] * cast, params


def photograph(canvas, frame: np.ndarray, corners: np.ndarray, rng, strength: str = "photo"):
    """Take the picture of ``canvas``: turn + tilt + resample to the output size in one warp,
    then lighting, exposure, blur, noise and JPEG.

    Args:
        canvas: RGB PIL image from :func:`compose_page`.
        frame: (4, 2) frame corners and ``corners`` (4, 2) figure corners, canvas px.
        strength: a key of ``STRENGTHS``.

    Returns (RGB PIL image, figure corners (4, 2) in output px, parameters).
    """
    from PIL import Image, ImageFilter

    s = STRENGTHS[strength]
    view, angle = _view(frame, rng, s["tilt"], s["turn"])
    side = int(rng.integers(*s["side"]))
    ratio = (frame[2, 0] - frame[0, 0]) / (frame[2, 1] - frame[0, 1])
    size = (side, round(side / ratio)) if ratio >= 1 else (round(side * ratio), side)
    out_rect = np.array([[0, 0], [size[0], 0], [size[0], size[1]], [0, size[1]]], dtype=np.float64)
    quad = apply_homography(np.linalg.inv(homography(out_rect, view)), corners)
    share = polygon_area(quad) / (size[0] * size[1])
    if share > AREA[1]:  # a tilt towards the figure enlarged it: step back until it is 60 %
        centre = view.mean(axis=0)
        view = centre + (view - centre) * np.sqrt(share / AREA[1]) * 1.001
        quad = apply_homography(np.linalg.inv(homography(out_rect, view)), corners)
    to_canvas = homography(out_rect, view)
    image = canvas.transform(size, Image.PERSPECTIVE, to_canvas.ravel()[:8].tolist(), Image.BICUBIC,
                             fillcolor=canvas.getpixel((0, 0)))
    pixels, light = _lighting(np.asarray(image, dtype=np.float32), rng, s["light"])
    exposure = float(rng.uniform(0.85, 1.15))
    gamma = float(np.exp(rng.uniform(np.log(0.8), np.log(1.25))))
    pixels = 255 * np.clip(pixels * exposure / 255, 0, 1) ** gamma
    image = Image.fromarray(pixels.round().astype(np.uint8))
    radius = float(rng.uniform(*s["blur"]))
    image = image.filter(ImageFilter.GaussianBlur(radius)) if radius > 0.05 else image
    sigma = float(rng.uniform(*s["noise"]))
    noisy = np.asarray(image, dtype=np.float32) + rng.normal(0, 1, (size[1], size[0], 3)).astype(np.float32) * sigma
    quality = int(rng.integers(*s["quality"]))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(noisy, 0, 255).round().astype(np.uint8)).save(buffer, format="JPEG", quality=quality)
    with Image.open(io.BytesIO(buffer.getvalue())) as decoded:
        image = decoded.convert("RGB")
    params = {"degrees": round(angle, 3), "tilt": np.round((view - frame) / (frame[2] - frame[0]), 4).tolist(),
              "size": list(size), **light, "exposure": round(exposure, 4), "gamma": round(gamma, 4),
              "blur": round(radius, 3), "noise": round(sigma, 3), "quality": quality}
    return image, quad, params


def page_photo(figure, rng, strength: str = "photo", neighbour=None) -> tuple[Any, dict[str, Any]]:
    """A photo of ``figure`` on its printed page: :func:`compose_page` then :func:`photograph`.
    Parameters include ``quad`` (the figure's corners in the photo, px) and ``area_fraction``
    (the quadrilateral's share of the photo's area)."""
    canvas, corners, frame, page = compose_page(figure, rng, neighbour)
    image, quad, camera = photograph(canvas, frame, corners, rng, strength)
    area = polygon_area(quad) / (image.width * image.height)
    return image, {**page, **camera, "quad": np.round(quad, 2).tolist(), "area_fraction": round(area, 4)}
