"""Image loading on every awkward input the brief lists."""

import numpy as np
import pytest
from PIL import Image

from nblabel.data.images import encode_for_display, image_size, load_image, thumbnail
from nblabel.errors import ImageError, ImageTooLargeError


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match=r"not found.*nope.jpg"):
        load_image(tmp_path / "nope.jpg")


def test_non_image_file(tmp_path):
    p = tmp_path / "notes.jpg"
    p.write_text("this is text, not a JPEG")
    with pytest.raises(ImageError, match="not an image"):
        load_image(p)


def test_truncated_jpeg(tmp_path):
    p = tmp_path / "cut.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 300, 3), np.uint8)).save(p)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 3])
    with pytest.raises(ImageError, match=r"cut.jpg"):
        load_image(p)


def test_directory_is_refused(tmp_path):
    with pytest.raises(ImageError, match="directory"):
        load_image(tmp_path)


def test_huge_image_is_refused_without_decoding(tmp_path):
    p = tmp_path / "huge.png"
    Image.new("1", (20000, 20000)).save(p)  # 400 Mpx, a few KB on disk
    with pytest.raises(ImageTooLargeError, match=r"huge.png"):
        load_image(p)


def test_large_jpeg_is_decoded_reduced(tmp_path):
    p = tmp_path / "big.jpg"
    Image.new("RGB", (9000, 8000), (10, 200, 30)).save(p, quality=50)
    img = load_image(p, max_pixels=10_000_000)
    assert (img.width, img.height) == (9000, 8000)
    assert img.pixels.shape[0] * img.pixels.shape[1] <= 10_000_000
    assert img.scale == pytest.approx(img.pixels.shape[1] / 9000)


@pytest.mark.parametrize("mode", ["L", "RGBA", "LA", "P", "I;16", "CMYK"])
def test_modes_become_rgb(tmp_path, mode):
    p = tmp_path / f"img_{mode.replace(';', '')}.{'tiff' if mode == 'CMYK' else 'png'}"
    if mode == "I;16":
        arr = np.linspace(0, 65535, 40 * 30).reshape(30, 40).astype(np.uint16)
        Image.fromarray(arr).save(p)
    else:
        Image.new(mode, (40, 30)).save(p)
    img = load_image(p)
    assert img.pixels.shape == (30, 40, 3) and img.pixels.dtype == np.uint8
    if mode == "I;16":
        assert img.pixels.min() == 0 and img.pixels.max() == 255


def test_rgba_transparent_is_composited_on_white(tmp_path):
    p = tmp_path / "t.png"
    Image.new("RGBA", (4, 4), (0, 0, 0, 0)).save(p)
    assert (load_image(p).pixels == 255).all()


def test_exif_rotation_is_applied(tmp_path):
    p = tmp_path / "rot.jpg"
    im = Image.new("RGB", (60, 20), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    im.save(p, exif=exif.tobytes())
    assert image_size(p) == (20, 60)
    img = load_image(p)
    assert img.pixels.shape == (60, 20, 3)
    assert (img.width, img.height) == (20, 60)
    _data, fmt, loaded = encode_for_display(p)
    assert fmt == "jpeg" and loaded is not None and loaded.pixels.shape[:2] == (60, 20)


def test_display_bytes_are_the_file_when_possible(tmp_path):
    p = tmp_path / "a.jpg"
    Image.new("RGB", (100, 50)).save(p)
    data, fmt, loaded = encode_for_display(p, max_side=200)
    assert data == p.read_bytes() and fmt == "jpeg" and loaded is None
    data, fmt, loaded = encode_for_display(p, max_side=50)
    assert loaded is not None and max(loaded.pixels.shape[:2]) == 50


def test_thumbnail_cached(tmp_path):
    p = tmp_path / "a.png"
    Image.new("RGB", (400, 200)).save(p)
    t1 = thumbnail(p, 64)
    assert thumbnail(p, 64) is t1
    assert Image.open(__import__("io").BytesIO(t1)).size == (64, 32)
