"""Session photos: re-encoded without metadata (images.prepare_photo, pure Pillow) and
stored through Django's storage on a draft only (services.photo_add / photo_remove)."""

from __future__ import annotations

import io

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from mesoclinic.core.errors import Conflict, DomainError
from mesoclinic.core.models import AuditEvent
from mesoclinic.treatments import images
from mesoclinic.treatments.images import prepare_photo
from mesoclinic.treatments.models import SessionPhoto
from mesoclinic.treatments.services import (
    photo_add,
    photo_remove,
    session_open,
    session_sign,
    session_update,
)

LIMIT = 15_000_000
ORIENTATION = 0x0112
GPS_IFD = 0x8825
# EXIF orientation 6: the camera was turned a quarter clockwise; viewers rotate the stored
# (landscape) pixels 90 degrees clockwise to show the photo upright (portrait).
ROTATE_90_CW = 6


def jpeg_with_exif(size: tuple[int, int] = (60, 40)) -> bytes:
    """A landscape JPEG (red left half, blue right half) whose EXIF says "rotate 90
    degrees clockwise" and carries a GPS position and a camera make."""
    image = Image.new("RGB", size, (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    exif = Image.Exif()
    exif[ORIENTATION] = ROTATE_90_CW
    exif[0x010F] = "SpyCam"  # Make
    exif[GPS_IFD] = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, quality=95)
    data = out.getvalue()
    # The fixture really carries what must be removed.
    with Image.open(io.BytesIO(data)) as check:
        assert check.getexif()[ORIENTATION] == ROTATE_90_CW
        assert check.getexif().get_ifd(GPS_IFD)
    return data


def png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, format="PNG")
    return out.getvalue()


# --- prepare_photo (pure) ---------------------------------------------------------------------


def test_a_photo_loses_its_exif_and_stays_upright():
    prepared = prepare_photo(jpeg_with_exif(), max_bytes=LIMIT)

    with Image.open(io.BytesIO(prepared.jpeg)) as result:
        assert result.format == "JPEG"
        assert len(result.getexif()) == 0
        assert "exif" not in result.info and "icc_profile" not in result.info
        # Turned upright: 40 wide, 60 high, the red half (the stored left) now on top.
        assert result.size == (40, 60)
        red, _green, blue = result.convert("RGB").getpixel((20, 5))
        assert red > 200 and blue < 60
        red, _green, blue = result.convert("RGB").getpixel((20, 55))
        assert blue > 200 and red < 60
    assert b"SpyCam" not in prepared.jpeg
    assert (prepared.width_px, prepared.height_px) == (40, 60)


def test_the_thumbnail_is_small_and_bare_too():
    prepared = prepare_photo(jpeg_with_exif(size=(1200, 800)), max_bytes=LIMIT)
    with Image.open(io.BytesIO(prepared.thumbnail)) as thumb:
        assert max(thumb.size) == images.THUMBNAIL_PX
        assert thumb.size[1] > thumb.size[0], "upright, like the photo"
        assert len(thumb.getexif()) == 0
    assert b"SpyCam" not in prepared.thumbnail


def test_the_checksum_is_the_stored_files():
    import hashlib

    prepared = prepare_photo(png((30, 20)), max_bytes=LIMIT)
    assert prepared.sha256 == hashlib.sha256(prepared.jpeg).hexdigest()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"%PDF-1.7 not a photo at all", "This file is not a photo (JPEG or PNG)."),
        (b"", "This file is not a photo (JPEG or PNG)."),
        (jpeg_with_exif()[:300], "The photo file is damaged or incomplete."),
    ],
    ids=["not-an-image", "empty", "truncated"],
)
def test_a_file_that_is_not_a_whole_photo_is_refused(data, message):
    with pytest.raises(ValueError) as raised:
        prepare_photo(data, max_bytes=LIMIT)
    assert str(raised.value) == message


def test_a_photo_cut_short_is_refused_even_after_weasyprint_relaxed_pillow(monkeypatch):
    from PIL import ImageFile

    # Importing WeasyPrint (for the PDFs) sets this for the whole process.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    data = jpeg_with_exif()
    with pytest.raises(ValueError) as raised:
        prepare_photo(data[: int(len(data) * 0.7)], max_bytes=LIMIT)
    assert str(raised.value) == "The photo file is damaged or incomplete."
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True


def test_a_file_over_the_size_limit_is_refused_before_it_is_read():
    data = jpeg_with_exif()
    with pytest.raises(ValueError) as raised:
        prepare_photo(data, max_bytes=len(data) - 1)
    assert "the limit is" in str(raised.value)


def test_a_picture_with_too_many_pixels_is_refused_without_decoding_it():
    # 8000 x 5001 pixels (just over 40 megapixels), a few kilobytes as a one-bit PNG.
    data = png((8000, 5001), mode="1")
    assert len(data) < 200_000
    with pytest.raises(ValueError) as raised:
        prepare_photo(data, max_bytes=LIMIT)
    assert str(raised.value) == "The photo has 40 megapixels; the limit is 40."


def test_a_format_other_than_a_photo_is_refused():
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, format="GIF")
    with pytest.raises(ValueError, match="GIF files are not accepted"):
        prepare_photo(out.getvalue(), max_bytes=LIMIT)


# --- photo_add / photo_remove -----------------------------------------------------------------


def read(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def test_a_photo_is_stored_with_its_thumbnail_on_a_draft(world, todays_appointment):
    session = session_open(appointment=todays_appointment, acting_user=world.paul)
    prepared = prepare_photo(jpeg_with_exif(), max_bytes=LIMIT)

    photo = photo_add(
        session=session,
        moment="before",
        photo=prepared,
        caption="Vertex, before",
        acting_user=world.paul,
    )

    photo.refresh_from_db()
    assert read(photo.image.name) == prepared.jpeg
    assert read(photo.thumbnail.name) == prepared.thumbnail
    # The stored names say nothing about the patient.
    assert photo.image.name.startswith(f"photos/{world.acme.pk}/")
    assert "rita" not in photo.image.name.lower()
    assert (photo.session, photo.appointment, photo.patient) == (
        session,
        todays_appointment,
        todays_appointment.patient,
    )
    assert (photo.width_px, photo.height_px, photo.byte_size) == (40, 60, len(prepared.jpeg))
    assert photo.sha256 == prepared.sha256
    event = AuditEvent.objects.get(action="photo.add")
    assert (event.actor, event.patient, event.object_id) == (
        world.paul,
        todays_appointment.patient,
        str(photo.pk),
    )
    assert event.changes["sha256"] == {"new": prepared.sha256}


def test_a_photo_needs_before_or_after(world, todays_appointment):
    session = session_open(appointment=todays_appointment, acting_user=world.paul)
    with pytest.raises(DomainError) as raised:
        photo_add(
            session=session,
            moment="during",
            photo=prepare_photo(png((10, 10)), max_bytes=LIMIT),
            acting_user=world.paul,
        )
    assert raised.value.field == "moment"
    assert not SessionPhoto.objects.exists()


def test_a_signed_session_takes_no_more_photos(world, stocked, todays_appointment, chart_content):
    session = session_open(appointment=todays_appointment, acting_user=world.paul)
    session = session_update(session=session, content=chart_content(), acting_user=world.paul)
    session_sign(session=session, acting_user=world.paul)
    events = AuditEvent.objects.count()
    with pytest.raises(Conflict, match="photos can no longer be added"):
        photo_add(
            session=session,
            moment="after",
            photo=prepare_photo(png((10, 10)), max_bytes=LIMIT),
            acting_user=world.paul,
        )
    assert not SessionPhoto.objects.exists()
    assert AuditEvent.objects.count() == events


def test_a_photo_removed_from_a_draft_leaves_no_file(
    world, todays_appointment, django_capture_on_commit_callbacks
):
    session = session_open(appointment=todays_appointment, acting_user=world.paul)
    photo = photo_add(
        session=session,
        moment="after",
        photo=prepare_photo(png((20, 20)), max_bytes=LIMIT),
        acting_user=world.paul,
    )
    names = (photo.image.name, photo.thumbnail.name)
    with django_capture_on_commit_callbacks(execute=True):
        photo_remove(photo=photo, acting_user=world.paul)
    assert not SessionPhoto.objects.exists()
    assert not any(default_storage.exists(name) for name in names)
    event = AuditEvent.objects.get(action="photo.remove")
    assert event.changes["sha256"]["old"] == photo.sha256


def test_a_signed_sessions_photos_stay(world, stocked, todays_appointment, chart_content):
    session = session_open(appointment=todays_appointment, acting_user=world.paul)
    photo = photo_add(
        session=session,
        moment="before",
        photo=prepare_photo(png((20, 20)), max_bytes=LIMIT),
        acting_user=world.paul,
    )
    session = session_update(session=session, content=chart_content(), acting_user=world.paul)
    session_sign(session=session, acting_user=world.paul)
    with pytest.raises(Conflict, match="cannot be removed"):
        photo_remove(photo=photo, acting_user=world.paul)
    assert SessionPhoto.objects.filter(pk=photo.pk).exists()
    assert default_storage.exists(photo.image.name)
