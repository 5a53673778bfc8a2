"""Image loading: EXIF orientation, colour modes, 16-bit, huge files, thumbnails, bytes.

Every function that reads a file raises :class:`~nblabel.errors.ImageError` naming the file
and what to do, never a bare PIL/OpenCV error.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from nblabel.errors import ImageError, ImageTooLargeError

__all__ = [
    "MAX_PIXELS",
    "LoadedImage",
    "encode_for_display",
    "image_size",
    "load_image",
    "thumbnail",
]

#: Images with more pixels than this are decoded at a reduced size (JPEG draft mode) or
#: refused; 20000 x 20000 RGB would need 1.2 GB.
MAX_PIXELS = 64_000_000

_EXIF_ORIENTATION = 0x0112
_TRANSPOSED = {5, 6, 7, 8}  # orientations that swap width and height


@dataclass(frozen=True)
class LoadedImage:
    """Decoded RGB pixels of an image and how they relate to the file.

    Attributes
    ----------
    pixels : numpy.ndarray
        ``(h, w, 3)`` uint8 RGB, EXIF orientation applied.
    width, height : int
        Size of the full-resolution, EXIF-rotated image: the frame box coordinates refer to.
    scale : float
        ``pixels.shape[1] / width`` (1.0 unless the image was decoded reduced).
    """

    pixels: np.ndarray
    width: int
    height: int
    scale: float = 1.0


def _open(path: str | os.PathLike) -> Image.Image:
    p = Path(path)
    if not p.exists():
        raise ImageError(
            f"image file not found: {p} (check the path column or the working directory)"
        )
    if p.is_dir():
        raise ImageError(f"expected an image file, got a directory: {p}")
    try:
        im = Image.open(p)  # reads the header only
    except UnidentifiedImageError:
        raise ImageError(f"not an image file (or an unsupported format): {p}") from None
    except Image.DecompressionBombError:
        raise ImageTooLargeError(
            f"image {p} is too large to open safely; resize it first"
        ) from None
    except OSError as e:
        raise ImageError(f"cannot read image {p}: {e}") from None
    return im


def _orientation(im: Image.Image) -> int:
    try:
        return int(im.getexif().get(_EXIF_ORIENTATION, 1))
    except Exception:  # a broken EXIF block is not worth failing the image for
        return 1


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """``(width, height)`` of the EXIF-rotated image, reading only the file header."""
    with _open(path) as im:
        w, h = im.size
        if _orientation(im) in _TRANSPOSED:
            w, h = h, w
    return w, h


def _to_rgb(im: Image.Image) -> Image.Image:
    """Any PIL mode to 8-bit RGB: 16-bit scaled by its range, alpha composited on white."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        scaled = (arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)
        return Image.fromarray(scaled.astype(np.uint8), "L").convert("RGB")
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if im.mode != "RGB":
        return im.convert("RGB")
    return im


def load_image(
    path: str | os.PathLike, *, max_side: int | None = None, max_pixels: int = MAX_PIXELS
) -> LoadedImage:
    """Decode an image file to RGB uint8 with EXIF orientation applied.

    Parameters
    ----------
    path : path-like
        The image file.
    max_side : int, optional
        Reduce the decoded pixels so that their longer side is at most this.
    max_pixels : int
        Larger images are decoded reduced when the format allows it (JPEG), else refused.

    Returns
    -------
    LoadedImage

    Raises
    ------
    ImageError
        Missing, unreadable, truncated or non-image file.
    ImageTooLargeError
        An image above ``max_pixels`` whose format cannot be decoded reduced.
    """
    im = _open(path)
    try:
        w0, h0 = im.size
        orientation = _orientation(im)
        target = max_side
        if w0 * h0 > max_pixels:
            side = int((max_pixels / (w0 * h0)) ** 0.5 * max(w0, h0))
            target = min(target or side, side)
        if target is not None and max(w0, h0) > target and im.format == "JPEG":
            # draft decodes at the smallest power-of-2 reduction still >= the asked size,
            # i.e. below 2x the target per side; thumbnail() below finishes the job
            longest = max(w0, h0)
            im.draft("RGB", (max(1, w0 * target // longest), max(1, h0 * target // longest)))
        if im.size[0] * im.size[1] > 4 * max_pixels:
            raise ImageTooLargeError(
                f"image {path} has {w0}x{h0} pixels (> {max_pixels:,}); nblabel decodes large "
                "JPEGs reduced but cannot do so for this format; downscale the file first"
            )
        try:
            im.load()
        except OSError as e:
            raise ImageError(f"cannot decode image {path} (truncated or corrupt?): {e}") from None
        if orientation != 1:
            im = ImageOps.exif_transpose(im)
        rgb = _to_rgb(im)
        if target is not None and max(rgb.size) > target:
            rgb = rgb.copy()
            rgb.thumbnail((target, target), Image.Resampling.LANCZOS)
        width, height = (h0, w0) if orientation in _TRANSPOSED else (w0, h0)
        pixels = np.asarray(rgb, dtype=np.uint8)
        return LoadedImage(pixels, width, height, pixels.shape[1] / width)
    finally:
        im.close()


@lru_cache(maxsize=512)
def _thumbnail_cached(path: str, mtime: float, size: int) -> bytes:
    img = load_image(path, max_side=size)
    buf = io.BytesIO()
    Image.fromarray(img.pixels).save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def thumbnail(path: str | os.PathLike, size: int = 128) -> bytes:
    """JPEG bytes of a thumbnail (longer side ``size``), cached by path, mtime and size."""
    p = Path(path)
    try:
        mtime = p.stat().st_mtime
    except OSError:
        raise ImageError(f"image file not found: {p}") from None
    return _thumbnail_cached(str(p), mtime, int(size))


def encode_for_display(
    path: str | os.PathLike, *, max_side: int = 1600, quality: int = 90
) -> tuple[bytes, str, LoadedImage | None]:
    """Encoded bytes to send to the browser, with their format ("jpeg" or "png").

    The file's own bytes are sent when it is a JPEG or PNG, needs no rotation and fits
    ``max_side``; otherwise it is decoded, rotated, reduced once and re-encoded (JPEG, or PNG
    when the source had transparency). Returns ``(data, format, loaded_or_None)``.
    """
    im = _open(path)
    try:
        fmt = im.format
        fits = max(im.size) <= max_side
        plain = _orientation(im) == 1 and im.mode in ("RGB", "L", "P", "RGBA")
    finally:
        im.close()
    if fmt in ("JPEG", "PNG") and fits and plain:
        return Path(path).read_bytes(), fmt.lower(), None
    loaded = load_image(path, max_side=max_side)
    buf = io.BytesIO()
    if fmt == "PNG":
        Image.fromarray(loaded.pixels).save(buf, format="PNG", optimize=False)
        return buf.getvalue(), "png", loaded
    Image.fromarray(loaded.pixels).save(buf, format="JPEG", quality=quality)
    return buf.getvalue(), "jpeg", loaded
