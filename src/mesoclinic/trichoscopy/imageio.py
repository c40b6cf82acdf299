"""Reading trichoscopy images safely into RGB arrays.

The size is checked from the file's header before a single pixel is decoded, so an image
that would need gigabytes of memory (a "decompression bomb") never reaches memory. A file
that ends early or is damaged is refused, never half-read. Pillow raises on truncated data
only while ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES`` is False, and other libraries set it to
True for the whole process (WeasyPrint does so on import, and the clinic's pages import
WeasyPrint for their PDFs), so decoding here sets it False for its own duration and then
puts back whatever it was.

Every refusal is an ``ImageRejected`` whose message can be shown to clinic staff as it stands.
"""

from __future__ import annotations

import io
import os
import re
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from .errors import ImageRejected

# The issue asks for images up to 4000x3000 pixels; twice that leaves room for larger
# sensors and stitched fields, while a 20,000 x 20,000 "image" (a few kilobytes of PNG that
# decodes to 1.2 GB) is refused from its header, before decoding.
MAX_PIXELS = 4000 * 3000 * 2
# Below this a hair (tens of pixels long at usual magnifications) cannot be told from noise.
MIN_SIDE_PX = 32
# MPO is how Pillow names the JPEG files many cameras write (a JPEG with a preview image
# appended); the first frame is an ordinary JPEG.
ACCEPTED_FORMATS = ("PNG", "JPEG", "MPO", "TIFF", "BMP", "WEBP")
_ACCEPTED_TEXT = "PNG, JPEG, TIFF, BMP or WebP"
# What Pillow's decoders raise on damaged or truncated data.
_DAMAGED = (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError)
_DAMAGED_MESSAGE = (
    "The image file is corrupt or truncated (it may not have finished copying or uploading). "
    "Export or copy it again."
)


def load_image(source: str | os.PathLike[str] | bytes | BinaryIO) -> np.ndarray:
    """The image in a file, bytes or binary stream as a new HxWx3 ``uint8`` RGB array.

    Guarantees: the format is one of PNG, JPEG, TIFF, BMP or WebP; the image has at most
    ``MAX_PIXELS`` pixels, checked from the header before decoding; each side has at least
    ``MIN_SIDE_PX`` pixels; the whole file was decoded (a truncated file is refused). The
    EXIF orientation is applied, so the pixels are the way up a viewer shows them. 16-bit
    images are scaled to 8 bits (not clipped); an alpha channel is dropped. Anything else
    raises ``ImageRejected`` with a message fit to show as it stands.
    """
    stream = _open_source(source)
    try:
        with warnings.catch_warnings():
            # Pillow warns (and past twice its own limit, raises) on huge images while
            # reading the header; either way the image is over our far lower limit.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                picture = Image.open(stream)
            except (Image.DecompressionBombWarning, Image.DecompressionBombError) as bomb:
                # Pillow does not return the size with its refusal; its message states it.
                stated = re.search(r"\((\d+) pixels\)", str(bomb))
                size = f"{int(stated[1]) / 1e6:.0f} megapixels" if stated else "too many pixels"
                raise ImageRejected(
                    f"The image has {size}; the analysis accepts at most "
                    f"{MAX_PIXELS / 1e6:.0f} megapixels. Export it at a smaller size "
                    "(4000x3000 is enough)."
                ) from None
            except UnidentifiedImageError:
                raise ImageRejected(
                    "The file is not an image that can be read. Export the picture as "
                    f"{_ACCEPTED_TEXT}."
                ) from None
            except _DAMAGED:
                raise ImageRejected(_DAMAGED_MESSAGE) from None
            with picture:
                _check_header(picture)
                rgb = _decode(picture)
    finally:
        if stream is not source:
            stream.close()
    return as_rgb_array(rgb)


def as_rgb_array(image: np.ndarray, *, min_side_px: int = MIN_SIDE_PX) -> np.ndarray:
    """An in-memory image as a new HxWx3 ``uint8`` RGB array (never the input itself).

    Accepts HxW (grey, replicated to three channels), HxWx3 or HxWx4 (alpha dropped) arrays
    of ``uint8``, ``uint16`` (scaled to 8 bits by dropping the low byte) or floats in
    [0, 1]. Raises ``ImageRejected`` for anything else, for an image with more than
    ``MAX_PIXELS`` pixels and for one with a side under ``min_side_px`` pixels. Uniform
    images (all black, all white) are accepted: judging them is the analysis's job.
    """
    if not isinstance(image, np.ndarray):
        raise ImageRejected(
            f"Expected an image as a pixel array, got {type(image).__name__}. "
            "Load the file with load_image first."
        )
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise ImageRejected(
            f"An array of shape {image.shape} is not an image: expected height x width "
            "(grey) or height x width x 3 or 4 (colour)."
        )
    if image.size == 0:
        raise ImageRejected("The image has no pixels.")
    height, width = image.shape[:2]
    _check_size(width, height, min_side_px=min_side_px)
    pixels = image if image.ndim == 2 else image[:, :, :3]
    if pixels.dtype == np.uint8:
        rgb8 = pixels
    elif pixels.dtype == np.uint16:
        rgb8 = (pixels >> 8).astype(np.uint8)
    elif np.issubdtype(pixels.dtype, np.floating):
        if not np.isfinite(pixels).all():
            raise ImageRejected("The image has pixels that are not numbers (NaN or infinite).")
        if pixels.min() < 0.0 or pixels.max() > 1.0:
            raise ImageRejected(
                "The image's pixel values lie outside 0 to 1; floating-point images must be "
                "scaled to that range."
            )
        rgb8 = np.rint(pixels * 255.0).astype(np.uint8)
    else:
        raise ImageRejected(
            f"Pixels of type {pixels.dtype} are not supported: use 8-bit or 16-bit integers "
            "or floating point from 0 to 1."
        )
    if rgb8.ndim == 2:
        return np.repeat(rgb8[:, :, np.newaxis], 3, axis=2)
    # Never hand back the caller's own pixels: the analysis must not alias its input.
    return rgb8.copy() if rgb8 is pixels else np.ascontiguousarray(rgb8)


def _open_source(source: str | os.PathLike[str] | bytes | BinaryIO) -> BinaryIO:
    """A readable, seekable binary stream on the source, refusing empty input."""
    if isinstance(source, bytes | bytearray | memoryview):
        if len(source) == 0:
            raise ImageRejected("The file is empty.")
        return io.BytesIO(bytes(source))
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        try:
            if os.path.getsize(path) == 0:
                raise ImageRejected("The file is empty.")
            return open(path, "rb")  # load_image closes it
        except OSError:
            raise ImageRejected(f"The file {path} cannot be opened: check the name.") from None
    if not source.seekable():
        # Pillow needs to seek; a pipe is read into memory (bounded by the caller's upload
        # limit, which is where a stream's byte size is policed).
        data = source.read()
        if not data:
            raise ImageRejected("The file is empty.")
        return io.BytesIO(data)
    # Pillow reads a stream from its start, wherever it was left: so is its size measured.
    size = source.seek(0, os.SEEK_END)
    source.seek(0)
    if size == 0:
        raise ImageRejected("The file is empty.")
    return source


def _check_header(picture: Image.Image) -> None:
    """Refuse formats outside the accepted list and sizes out of range, before decoding."""
    if picture.format not in ACCEPTED_FORMATS:
        raise ImageRejected(
            f"{picture.format or 'This kind of'} files are not accepted. Export the picture as "
            f"{_ACCEPTED_TEXT}."
        )
    width, height = picture.size
    _check_size(width, height, min_side_px=MIN_SIDE_PX)


def _check_size(width: int, height: int, *, min_side_px: int) -> None:
    if width * height > MAX_PIXELS:
        raise ImageRejected(
            f"The image is {width}x{height} pixels ({width * height / 1e6:.1f} megapixels); "
            f"the analysis accepts at most {MAX_PIXELS / 1e6:.0f} megapixels. Export it at a "
            "smaller size (4000x3000 is enough)."
        )
    if width < min_side_px or height < min_side_px:
        raise ImageRejected(
            f"The image is {width}x{height} pixels; at least {min_side_px} pixels a side are "
            "needed to find a hair."
        )


_STRICT = threading.Lock()


@contextmanager
def strict_decoding() -> Iterator[None]:
    """Pillow refusing truncated data for the duration, whatever the process set before.

    The flag is global; the lock keeps two decodings here from restoring it out of order.
    Another thread decoding at the same moment is at worst stricter for that moment.
    """
    with _STRICT:
        previous = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous


def _decode(picture: Image.Image) -> np.ndarray:
    """Decode every pixel; a damaged or truncated file raises ImageRejected."""
    try:
        with strict_decoding():
            picture.load()
        ImageOps.exif_transpose(picture, in_place=True)
    except _DAMAGED:
        raise ImageRejected(_DAMAGED_MESSAGE) from None
    return _to_rgb8(picture)


def _to_rgb8(picture: Image.Image) -> np.ndarray:
    """RGB or grey pixels of any Pillow mode, in a dtype ``as_rgb_array`` scales to 8 bits."""
    if picture.mode.startswith("I;16"):
        # Native-endian uint16; as_rgb_array drops the low byte.
        return np.asarray(picture).astype(np.uint16)
    if picture.mode == "I":
        values = np.asarray(picture).astype(np.int64)
        # Pillow reads 16-bit data as "I" from some decoders; other 32-bit data is stretched.
        if values.min() >= 0 and values.max() <= 0xFFFF:
            return (values >> 8).astype(np.uint8)
        return _stretch(values.astype(np.float64))
    if picture.mode == "F":
        values = np.asarray(picture).astype(np.float64)
        if not np.isfinite(values).all():
            raise ImageRejected("The image has pixels that are not numbers (NaN or infinite).")
        if values.min() >= 0.0 and values.max() <= 1.0:
            return np.rint(values * 255.0).astype(np.uint8)
        return _stretch(values)
    # Palette, grey, grey+alpha, RGBA, CMYK, YCbCr, LAB, 1-bit: Pillow's own conversions.
    return np.asarray(picture.convert("RGB"))


def _stretch(values: np.ndarray) -> np.ndarray:
    """Values of unknown range mapped linearly onto 0..255 (a uniform image becomes 0)."""
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return np.zeros(values.shape, dtype=np.uint8)
    return np.rint((values - low) * (255.0 / (high - low))).astype(np.uint8)
