"""Photos for the chart: checked, re-encoded without metadata, thumbnailed (pure Pillow).

Re-encoding the pixels is what strips EXIF (GPS position, camera serial, time) and any
other metadata block: only the pixels are written back. The EXIF orientation is applied
first, so a portrait photo stays upright once its orientation tag is gone.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Protocol

from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from mesoclinic.trichoscopy.imageio import strict_decoding

# Larger pictures are refused before decoding: a decompression bomb must not reach memory.
MAX_PIXELS = 40_000_000
THUMBNAIL_PX = 320
JPEG_QUALITY = 90
ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "HEIF", "MPO", "TIFF"})


@dataclass(frozen=True)
class PreparedPhoto:
    jpeg: bytes
    thumbnail: bytes
    width_px: int
    height_px: int
    sha256: str


def prepare_photo(data: bytes, *, max_bytes: int) -> PreparedPhoto:
    """The photo as a metadata-free JPEG plus a thumbnail, or ValueError with a message a
    person can act on (not an image, too large, damaged)."""
    if len(data) > max_bytes:
        raise ValueError(
            _("The photo is %(size)d MB; the limit is %(limit)d MB.")
            % {"size": -(-len(data) // 1_000_000), "limit": max_bytes // 1_000_000}
        )
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ACCEPTED_FORMATS:
                raise ValueError(
                    _("%(format)s files are not accepted; upload a JPEG or PNG photo.")
                    % {"format": probe.format or "This kind of"}
                )
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise ValueError(
                    _("The photo has %(mp)d megapixels; the limit is %(limit)d.")
                    % {"mp": width * height // 1_000_000, "limit": MAX_PIXELS // 1_000_000}
                )
            # WeasyPrint lets Pillow accept truncated files process-wide; not here.
            with strict_decoding():
                probe.load()
            upright = ImageOps.exif_transpose(probe)
            rgb = upright.convert("RGB")
    except UnidentifiedImageError:
        raise ValueError(_("This file is not a photo (JPEG or PNG).")) from None
    except (OSError, Image.DecompressionBombError, SyntaxError):
        raise ValueError(_("The photo file is damaged or incomplete.")) from None
    out = io.BytesIO()
    # No exif=, no icc_profile=: nothing but the pixels is written.
    rgb.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    jpeg = out.getvalue()
    thumb = rgb.copy()
    thumb.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    thumb_out = io.BytesIO()
    thumb.save(thumb_out, format="JPEG", quality=80)
    return PreparedPhoto(
        jpeg=jpeg,
        thumbnail=thumb_out.getvalue(),
        width_px=rgb.width,
        height_px=rgb.height,
        sha256=hashlib.sha256(jpeg).hexdigest(),
    )


class Upload(Protocol):
    """What an uploaded file offers (Django's ``UploadedFile``, ninja's ``UploadedFile``)."""

    @property
    def size(self) -> int | None: ...

    def read(self) -> bytes: ...


def prepare_upload(upload: Upload, *, max_mb: int) -> PreparedPhoto:
    """An uploaded photo prepared by ``prepare_photo``, refused (ValueError with the
    message to show) when it is over ``max_mb`` megabytes before anything is read."""
    limit = max_mb * 1_000_000
    if upload.size is not None and upload.size > limit:
        raise ValueError(_("The photo is larger than %(limit)d MB.") % {"limit": max_mb})
    return prepare_photo(upload.read(), max_bytes=limit)
