"""Loading trichoscopy images: what is read, what is refused and when."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from mesoclinic.trichoscopy.errors import ImageRejected
from mesoclinic.trichoscopy.imageio import MAX_PIXELS, MIN_SIDE_PX, as_rgb_array, load_image


def _encode(picture: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    picture.save(out, format=fmt, **options)
    return out.getvalue()


def _noise_rgb(height: int = 60, width: int = 80, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _png_declaring(width: int, height: int) -> bytes:
    """A small valid PNG whose header is patched to declare ``width`` x ``height``."""
    data = bytearray(_encode(Image.new("L", (32, 32)), "PNG"))
    # Signature (8 bytes), then the IHDR chunk: length (4), type (4), data (13), CRC (4).
    ihdr = 8 + 8
    data[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr - 4 : ihdr + 13]))
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", crc)
    return bytes(data)


def _forbid_decoding(monkeypatch) -> None:
    """From now on, fail the test if any pixel data is decoded."""

    def refuse(self, *args, **kwargs):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(Image.Image, "load", refuse)
    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


# -- what is read ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "options"),
    [("PNG", {}), ("TIFF", {}), ("BMP", {}), ("WEBP", {"lossless": True})],
)
def test_each_lossless_accepted_format_is_read_pixel_for_pixel(fmt, options):
    pixels = _noise_rgb()
    loaded = load_image(_encode(Image.fromarray(pixels), fmt, **options))
    assert loaded.dtype == np.uint8
    assert loaded.shape == pixels.shape
    np.testing.assert_array_equal(loaded, pixels)


def test_a_jpeg_is_read_as_rgb_close_to_the_original():
    pixels = np.full((64, 96, 3), (180, 120, 90), dtype=np.uint8)
    loaded = load_image(_encode(Image.fromarray(pixels), "JPEG", quality=95))
    assert loaded.shape == (64, 96, 3)
    assert np.abs(loaded.astype(int) - pixels).max() <= 3


def test_a_path_and_an_open_file_are_read_like_bytes(tmp_path):
    pixels = _noise_rgb()
    data = _encode(Image.fromarray(pixels), "PNG")
    path = tmp_path / "scalp.png"
    path.write_bytes(data)
    np.testing.assert_array_equal(load_image(path), pixels)
    np.testing.assert_array_equal(load_image(str(path)), pixels)
    with path.open("rb") as stream:
        np.testing.assert_array_equal(load_image(stream), pixels)
        assert not stream.closed
        # A stream left at its end (just written, say) is read from its start.
        np.testing.assert_array_equal(load_image(stream), pixels)


def test_grey_and_palette_images_become_rgb():
    grey = np.arange(40 * 50, dtype=np.uint32).reshape(40, 50) % 256
    loaded = load_image(_encode(Image.fromarray(grey.astype(np.uint8), "L"), "PNG"))
    assert loaded.shape == (40, 50, 3)
    for channel in range(3):
        np.testing.assert_array_equal(loaded[:, :, channel], grey)
    palette = Image.fromarray(_noise_rgb()).quantize(16)
    loaded = load_image(_encode(palette, "PNG"))
    np.testing.assert_array_equal(loaded, np.asarray(palette.convert("RGB")))


def test_an_rgba_image_keeps_its_colours_and_loses_its_alpha():
    pixels = np.zeros((40, 40, 4), dtype=np.uint8)
    pixels[..., :3] = (200, 100, 50)
    pixels[..., 3] = 0  # fully transparent: the colour is still what was photographed
    loaded = load_image(_encode(Image.fromarray(pixels, "RGBA"), "PNG"))
    assert loaded.shape == (40, 40, 3)
    assert (loaded == (200, 100, 50)).all()


def test_a_16_bit_grey_png_is_scaled_to_8_bits_not_clipped():
    ramp = np.linspace(0, 65535, 64 * 64).astype(np.uint16).reshape(64, 64)
    loaded = load_image(_encode(Image.fromarray(ramp), "PNG"))
    np.testing.assert_array_equal(loaded[:, :, 0], ramp >> 8)
    assert loaded.max() == 255
    # Clipping would have made most of the ramp white.
    assert (loaded[:, :, 0] == 255).mean() < 0.01


def test_a_floating_point_tiff_in_0_to_1_is_scaled_to_8_bits():
    values = np.linspace(0.0, 1.0, 40 * 40, dtype=np.float32).reshape(40, 40)
    loaded = load_image(_encode(Image.fromarray(values, "F"), "TIFF"))
    np.testing.assert_array_equal(loaded[:, :, 1], np.rint(values * 255).astype(np.uint8))


def test_a_cmyk_jpeg_becomes_rgb():
    picture = Image.new("CMYK", (48, 48), (0, 0, 0, 0))
    loaded = load_image(_encode(picture, "JPEG"))
    assert loaded.shape == (48, 48, 3)
    assert loaded.min() > 240  # no ink is white


def test_the_exif_orientation_is_applied():
    picture = Image.fromarray(_noise_rgb(40, 60))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees to display
    loaded = load_image(_encode(picture, "JPEG", exif=exif.tobytes()))
    assert loaded.shape == (60, 40, 3)


# -- what is refused -------------------------------------------------------------------------


def test_empty_bytes_are_refused():
    with pytest.raises(ImageRejected, match=r"^The file is empty\.$"):
        load_image(b"")


def test_an_empty_file_and_an_empty_stream_are_refused(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageRejected, match="empty"):
        load_image(path)
    with pytest.raises(ImageRejected, match="empty"):
        load_image(io.BytesIO(b""))


def test_a_missing_file_is_refused_with_its_name(tmp_path):
    with pytest.raises(ImageRejected, match=r"nothere\.png"):
        load_image(tmp_path / "nothere.png")


def test_bytes_that_are_not_an_image_are_refused():
    with pytest.raises(ImageRejected, match="not an image"):
        load_image(b"this is a consent form, not a photo" * 10)


def test_a_corrupt_png_is_refused():
    data = bytearray(_encode(Image.fromarray(_noise_rgb()), "PNG"))
    data[100:140] = b"\x00" * 40  # inside the image data
    with pytest.raises(ImageRejected, match="corrupt or truncated"):
        load_image(bytes(data))


@pytest.mark.parametrize("kept", [0.3, 0.7, 0.95, 0.999])
def test_a_truncated_png_is_refused_not_half_read(kept):
    data = _encode(Image.fromarray(_noise_rgb(120, 160)), "PNG")
    with pytest.raises(ImageRejected, match="corrupt or truncated"):
        load_image(data[: int(len(data) * kept)])


@pytest.mark.parametrize("kept", [0.3, 0.7, 0.95, 0.995])
def test_a_truncated_jpeg_is_refused_not_half_read(kept):
    data = _encode(Image.fromarray(_noise_rgb(120, 160)), "JPEG", quality=90)
    with pytest.raises(ImageRejected, match="corrupt or truncated"):
        load_image(data[: int(len(data) * kept)])


@pytest.mark.parametrize("process_setting", [False, True])
def test_truncated_files_are_refused_even_where_another_library_lets_pillow_accept_them(
    monkeypatch, process_setting
):
    # WeasyPrint sets LOAD_TRUNCATED_IMAGES = True for the whole process when imported.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", process_setting)
    data = _encode(Image.fromarray(_noise_rgb()), "PNG")
    with pytest.raises(ImageRejected):
        load_image(data[:-30])
    assert ImageFile.LOAD_TRUNCATED_IMAGES is process_setting


def test_an_unsupported_format_is_refused_by_name():
    gif = _encode(Image.fromarray(_noise_rgb()), "GIF")
    with pytest.raises(ImageRejected, match=r"^GIF files are not accepted\..*PNG, JPEG"):
        load_image(gif)


def test_a_1x1_image_is_refused_as_too_small():
    with pytest.raises(ImageRejected) as refused:
        load_image(_encode(Image.new("RGB", (1, 1)), "PNG"))
    assert str(refused.value) == (
        "The image is 1x1 pixels; at least 32 pixels a side are needed to find a hair."
    )


def test_a_20000_by_20000_image_is_refused_before_decoding(monkeypatch):
    data = _png_declaring(20_000, 20_000)
    assert len(data) < 1000
    _forbid_decoding(monkeypatch)
    with pytest.raises(ImageRejected, match=r"400 megapixels.*at most 24 megapixels"):
        load_image(data)


def test_an_image_just_over_the_limit_is_refused_with_its_size_before_decoding(monkeypatch):
    # 36 megapixels: under Pillow's own bomb limit, over ours.
    data = _png_declaring(6000, 6000)
    _forbid_decoding(monkeypatch)
    with pytest.raises(ImageRejected, match=r"6000x6000 pixels \(36\.0 megapixels\)"):
        load_image(data)


def test_a_declared_size_within_the_limit_is_decoded():
    # The patched header is honest about the check: a small declared size gets decoded
    # (and then fails, the data being too short), so the refusals above came from the size.
    with pytest.raises(ImageRejected, match="corrupt or truncated"):
        load_image(_png_declaring(64, 64))


def test_the_pixel_limit_allows_the_largest_supported_images():
    assert MAX_PIXELS >= 4000 * 3000


# -- arrays already in memory ----------------------------------------------------------------


def test_a_grey_array_is_replicated_to_three_channels():
    grey = np.arange(32 * 40, dtype=np.uint32).reshape(32, 40).astype(np.uint8)
    rgb = as_rgb_array(grey)
    assert rgb.shape == (32, 40, 3)
    assert (rgb == grey[:, :, None]).all()


def test_16_bit_and_float_arrays_are_scaled_to_8_bits():
    wide = np.full((40, 40, 3), 0x8000, dtype=np.uint16)
    assert (as_rgb_array(wide) == 0x80).all()
    unit = np.full((40, 40), 0.5, dtype=np.float64)
    assert (as_rgb_array(unit) == 128).all()
    assert (as_rgb_array(unit.astype(np.float32)) == 128).all()


def test_an_rgba_array_loses_its_alpha():
    rgba = np.zeros((40, 40, 4), dtype=np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = 255
    rgb = as_rgb_array(rgba)
    assert rgb.shape == (40, 40, 3)
    assert (rgb[..., 0] == 200).all()


@pytest.mark.parametrize("value", [0, 255])
def test_all_black_and_all_white_arrays_are_accepted(value):
    # Judging a blank image is the analysis's job (it flags it), not the loader's.
    rgb = as_rgb_array(np.full((48, 64, 3), value, dtype=np.uint8))
    assert (rgb == value).all()


def test_the_result_is_a_new_array_not_the_input():
    pixels = _noise_rgb()
    rgb = as_rgb_array(pixels)
    assert rgb is not pixels
    assert not np.shares_memory(rgb, pixels)
    rgb[:] = 0
    assert pixels.any()


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ([[0, 1], [2, 3]], "pixel array"),
        (np.zeros(100, dtype=np.uint8), "not an image"),
        (np.zeros((40, 40, 2), dtype=np.uint8), "not an image"),
        (np.zeros((40, 40, 3, 1), dtype=np.uint8), "not an image"),
        (np.zeros((0, 40), dtype=np.uint8), "no pixels"),
        (np.full((40, 40), np.nan), "NaN"),
        (np.full((40, 40), np.inf, dtype=np.float32), "infinite"),
        (np.full((40, 40), 1.5), "outside 0 to 1"),
        (np.full((40, 40), -0.1), "outside 0 to 1"),
        (np.zeros((40, 40), dtype=np.int32), "int32"),
        (np.zeros((40, 40), dtype=bool), "bool"),
        (np.zeros((20, 40), dtype=np.uint8), "40x20 pixels; at least 32"),
    ],
)
def test_arrays_that_are_not_images_are_refused(image, message):
    with pytest.raises(ImageRejected, match=message):
        as_rgb_array(image)


def test_an_array_over_the_pixel_limit_is_refused():
    # A read-only broadcast view: the test allocates nothing of that size.
    huge = np.broadcast_to(np.uint8(0), (6000, 6000))
    with pytest.raises(ImageRejected, match="6000x6000"):
        as_rgb_array(huge)


def test_the_minimum_side_is_32_pixels():
    assert MIN_SIDE_PX == 32
    assert as_rgb_array(np.zeros((32, 32), dtype=np.uint8)).shape == (32, 32, 3)
    with pytest.raises(ImageRejected):
        as_rgb_array(np.zeros((31, 400), dtype=np.uint8))
