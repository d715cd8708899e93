"""Realistic inputs for the PaddleOCR models without shipping images: a synthetic document page
(light paper with noise and shading, lines of dark glyph-like strokes in words) preprocessed the way
RapidOCR preprocesses real photos before each model.

- ``page(h, w, seed)``: an HxWx3 uint8 BGR page;
- ``det_input(h, w, seed)``: the detector's NCHW float32 input (ImageNet mean/std on [0, 1]);
- ``line_input(h, w, seed)``: a text-line crop for the classifier and recogniser, resized to HxW
  and scaled to [-1, 1] ((x / 255 - 0.5) / 0.5), as RapidOCR does.

The same generator can feed calibration and accuracy tests later.
"""

from __future__ import annotations

import numpy as np

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def _glyph(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A glyph-like mask: a few strokes (bars, dots) inside an h×w cell."""
    m = np.zeros((h, w), dtype=bool)
    t = max(1, h // 8)
    for _ in range(rng.integers(2, 5)):
        if rng.random() < 0.5:  # vertical stroke
            x = rng.integers(0, max(1, w - t))
            y0, y1 = sorted(rng.integers(0, h, 2))
            m[y0 : max(y1, y0 + t), x : x + t] = True
        else:  # horizontal stroke
            y = rng.integers(0, max(1, h - t))
            x0, x1 = sorted(rng.integers(0, w, 2))
            m[y : y + t, x0 : max(x1, x0 + t)] = True
    return m


def page(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    shade = 225 + 20 * np.sin(xx / w * 2.1 + 0.3) * np.cos(yy / h * 1.7)
    img = np.repeat(shade[..., None], 3, axis=2) + rng.normal(0, 4, (h, w, 3))
    ink = np.array([30, 30, 40], dtype=np.float32) + rng.normal(0, 10, 3)
    line_h = max(12, h // 16)
    y = line_h
    while y + line_h < h - line_h // 2:
        x = int(rng.integers(line_h, 3 * line_h))
        x_end = int(w - rng.integers(line_h, 6 * line_h))
        while x + line_h < x_end:
            for _ in range(rng.integers(2, 8)):  # one word
                gw = int(line_h * rng.uniform(0.5, 0.9))
                if x + gw >= x_end:
                    break
                m = _glyph(rng, line_h, gw)
                img[y : y + line_h, x : x + gw][m] = ink
                x += gw + max(1, line_h // 10)
            x += line_h  # space between words
        y += int(line_h * rng.uniform(1.6, 2.2))
    return np.clip(img, 0, 255).astype(np.uint8)


def _resize(img: np.ndarray, h: int, w: int) -> np.ndarray:
    """Bilinear resize (half-pixel centres) in numpy, so no image library is needed."""
    sh, sw = img.shape[:2]
    ys = np.clip((np.arange(h) + 0.5) * sh / h - 0.5, 0, sh - 1)
    xs = np.clip((np.arange(w) + 0.5) * sw / w - 0.5, 0, sw - 1)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, sh - 1), np.minimum(x0 + 1, sw - 1)
    fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    f = img.astype(np.float32)
    top = f[y0][:, x0] * (1 - fx) + f[y0][:, x1] * fx
    bot = f[y1][:, x0] * (1 - fx) + f[y1][:, x1] * fx
    return top * (1 - fy) + bot * fy


def det_input(h: int, w: int, seed: int = 0) -> np.ndarray:
    img = page(h, w, seed).astype(np.float32)[..., ::-1] / 255.0  # BGR -> RGB
    img = (img - IMAGENET_MEAN) / IMAGENET_STD
    return np.ascontiguousarray(img.transpose(2, 0, 1)[None], dtype=np.float32)


def line_input(h: int, w: int, seed: int = 0) -> np.ndarray:
    src = page(4 * h, 2 * w, seed)
    line_h = max(12, (4 * h) // 16)
    crop = src[int(line_h * 0.6) : int(line_h * 2.4), :]  # the first text line with margins
    img = _resize(crop, h, w) / 255.0
    img = (img - 0.5) / 0.5
    return np.ascontiguousarray(img.transpose(2, 0, 1)[None], dtype=np.float32)
