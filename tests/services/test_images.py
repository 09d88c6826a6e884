"""The image pipeline against the issue's corpus, made here by the tests (Pillow writes the
images; the 50,000 x 50,000 PNG header is built by hand): each file is kept safely, re-encoded,
or refused with its reason and its message."""

from __future__ import annotations

import io
import random
import struct
import zlib

import pytest
from PIL import ExifTags, Image, ImageCms, ImageFile, PngImagePlugin

from portal.services.images import (
    ImageRefused,
    ProcessedImage,
    Refusal,
    process_image,
)

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000


def keep(data: bytes, **limits: int) -> ProcessedImage:
    return process_image(
        data,
        max_bytes=limits.get("max_bytes", MAX_BYTES),
        max_pixels=limits.get("max_pixels", MAX_PIXELS),
    )


def refusal(data: bytes, **limits: int) -> ImageRefused:
    with pytest.raises(ImageRefused) as refused:
        keep(data, **limits)
    return refused.value


def reopened(data: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(data))
    picture.load()
    return picture


# The corpus --------------------------------------------------------------------------------


def jpeg_with_gps(orientation: int = 6) -> bytes:
    """A phone's photo: 64 x 48 as stored, orientation 'turn 90°', GPS, camera and XMP."""
    picture = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SecretPhoneMaker"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 12.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (0.0, 7.0, 39.9)
    out = io.BytesIO()
    picture.save(
        out,
        "JPEG",
        exif=exif,
        xmp=b"<x:xmpmeta>secret-xmp-packet</x:xmpmeta>",
        comment=b"secret-jpeg-comment",
        quality=90,
    )
    return out.getvalue()


def png_with_text_and_trailer() -> bytes:
    picture = Image.new("RGBA", (40, 30), (10, 120, 200, 128))
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret-text-chunk")
    info.add_itxt("Author", "secret-itxt-chunk")
    info.add_text("Software", "secret-ztxt-chunk", zip=True)
    out = io.BytesIO()
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    picture.save(out, "PNG", pnginfo=info, icc_profile=srgb)
    return out.getvalue() + b"TRAILING-SECRET<script>alert(1)</script>"


def webp() -> bytes:
    picture = Image.new("RGBA", (50, 20), (0, 200, 0, 255))
    out = io.BytesIO()
    picture.save(out, "WEBP", quality=80)
    return out.getvalue()


def animated_gif() -> bytes:
    frames = [Image.new("P", (30, 20), colour) for colour in (1, 2, 3)]
    for frame in frames:
        frame.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * (256 * 3 - 12))
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def png_header_claiming(width: int, height: int) -> bytes:
    """A PNG that says it is width x height pixels, with a few bytes of image data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


HTML_NAMED_JPG = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.domain)</script><rect width='10' height='10'/></svg>"
)


def gif_javascript_polyglot() -> bytes:
    """A GIF that is also JavaScript: 10,799 pixels wide writes the width as the bytes '/*',
    so `GIF89a/* ...image... */=alert(1);` runs as a script where a browser is fooled."""
    picture = Image.new("P", (0x2A2F, 1), 0)
    out = io.BytesIO()
    picture.save(out, "GIF")
    data = out.getvalue()
    assert data[6:8] == b"/*"
    return data + b"*/=alert(document.domain);//"


def truncated_jpeg() -> bytes:
    picture = Image.effect_noise((256, 256), 64).convert("RGB")
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=95)
    data = out.getvalue()
    return data[: len(data) // 2]


# Kept safely -------------------------------------------------------------------------------


def test_a_jpeg_with_gps_is_kept_upright_without_any_metadata() -> None:
    original = jpeg_with_gps()
    assert b"SecretPhoneMaker" in original and b"secret-xmp-packet" in original

    kept = keep(original)

    assert kept.content_type == "image/jpeg"
    # Orientation 6 is applied: 64 x 48 as stored is shown 48 x 64.
    assert (kept.width, kept.height) == (48, 64)
    served = reopened(kept.data)
    assert served.format == "JPEG" and served.size == (48, 64)
    assert len(served.getexif()) == 0
    assert "exif" not in served.info and "xmp" not in served.info
    for secret in (b"Exif", b"SecretPhoneMaker", b"secret-xmp-packet", b"GPS", b"secret-jpeg"):
        assert secret not in kept.data
        assert secret not in kept.thumbnail


def test_a_png_loses_its_text_chunks_colour_profile_and_trailing_bytes() -> None:
    kept = keep(png_with_text_and_trailer())

    assert kept.content_type == "image/png"
    assert (kept.width, kept.height) == (40, 30)
    served = reopened(kept.data)
    assert served.mode == "RGBA"
    assert served.getpixel((0, 0)) == (10, 120, 200, 128)
    assert not {"Comment", "Author", "Software", "icc_profile"} & set(served.info)
    for secret in (b"secret-", b"iCCP", b"tEXt", b"zTXt", b"iTXt", b"TRAILING", b"script"):
        assert secret not in kept.data
    assert kept.data.endswith(b"IEND\xaeB`\x82")


def test_a_webp_is_kept_as_webp() -> None:
    kept = keep(webp())

    assert kept.content_type == "image/webp"
    assert (kept.width, kept.height) == (50, 20)
    assert reopened(kept.data).format == "WEBP"
    assert reopened(kept.thumbnail).format == "WEBP"


def test_an_animated_gif_keeps_its_first_frame_as_a_png() -> None:
    original = animated_gif()
    assert Image.open(io.BytesIO(original)).n_frames == 3

    kept = keep(original)

    assert kept.content_type == "image/png"
    served = reopened(kept.data)
    assert served.format == "PNG"
    assert not getattr(served, "is_animated", False)
    assert served.convert("RGB").getpixel((0, 0)) == (255, 0, 0)  # the first frame's colour


def test_the_gif_javascript_polyglot_comes_out_as_a_plain_png_without_the_script() -> None:
    kept = keep(gif_javascript_polyglot())

    assert kept.content_type == "image/png"
    assert kept.data.startswith(b"\x89PNG")
    assert b"alert" not in kept.data and b"/*" not in kept.data[:16]


def test_a_cmyk_jpeg_is_kept_in_rgb() -> None:
    out = io.BytesIO()
    Image.new("CMYK", (20, 10), (0, 255, 255, 0)).save(out, "JPEG")

    kept = keep(out.getvalue())

    served = reopened(kept.data)
    assert served.mode == "RGB" and served.size == (20, 10)


def test_a_thumbnail_fits_the_box_and_keeps_the_shape() -> None:
    picture = Image.new("RGB", (1600, 800), (1, 2, 3))
    out = io.BytesIO()
    picture.save(out, "JPEG")

    kept = keep(out.getvalue())

    assert (kept.thumbnail_width, kept.thumbnail_height) == (320, 160)
    assert reopened(kept.thumbnail).size == (320, 160)
    assert kept.extension == "jpg"


def test_a_small_image_is_its_own_thumbnail() -> None:
    kept = keep(webp())

    assert (kept.thumbnail_width, kept.thumbnail_height) == (50, 20)


# Refused, with its message ------------------------------------------------------------------


def test_a_50000_by_50000_png_header_is_refused_without_being_decoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("the pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    bomb = png_header_claiming(50_000, 50_000)
    assert len(bomb) < 200

    refused = refusal(bomb)

    assert refused.reason is Refusal.TOO_MANY_PIXELS
    assert refused.message == (
        "That image is 50000 by 50000 pixels; the most we take is 40 megapixels. "
        "Please attach it at a smaller size."
    )


def test_the_pixel_limit_is_ours_not_pillows() -> None:
    # 8,000 x 6,000 is under Pillow's own bomb limit, over a limit of 40 megapixels.
    refused = refusal(png_header_claiming(8_000, 6_000))
    assert refused.reason is Refusal.TOO_MANY_PIXELS

    refused = refusal(png_header_claiming(100, 100), max_pixels=5_000)
    assert refused.reason is Refusal.TOO_MANY_PIXELS
    assert "100 by 100 pixels" in refused.message


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_opening(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file was opened")

    monkeypatch.setattr(Image, "open", no_opening)

    refused = refusal(b"\xff\xd8\xff" + b"\x00" * (2 * 1024 * 1024), max_bytes=1024 * 1024)

    assert refused.reason is Refusal.TOO_LARGE
    assert refused.message.startswith("That image is larger than the 1 MB we take.")


def test_an_html_file_named_jpg_is_not_an_image() -> None:
    # The name never reaches the pipeline: only the bytes decide.
    refused = refusal(HTML_NAMED_JPG)

    assert refused.reason is Refusal.NOT_AN_IMAGE
    assert refused.message == (
        "That file is not an image we can read. Please attach a photo or a screenshot "
        "(JPEG, PNG, WebP or GIF)."
    )


def test_an_svg_with_a_script_is_a_type_we_do_not_take() -> None:
    refused = refusal(SVG_WITH_SCRIPT)

    assert refused.reason is Refusal.TYPE_NOT_TAKEN
    assert refused.message.startswith("That file is an SVG drawing. We take JPEG, PNG, WebP")


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", "a PDF document"),
        (b"II*\x00" + b"\x00" * 64, "a TIFF image"),
        (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64, "a HEIC photo"),
    ],
)
def test_other_kinds_of_file_are_named_in_the_refusal(data: bytes, kind: str) -> None:
    refused = refusal(data)

    assert refused.reason is Refusal.TYPE_NOT_TAKEN
    assert refused.message.startswith(f"That file is {kind}.")


def test_a_bmp_is_a_type_we_do_not_take_although_pillow_reads_it() -> None:
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, "BMP")

    assert refusal(out.getvalue()).reason is Refusal.TYPE_NOT_TAKEN


def test_a_truncated_jpeg_is_damaged() -> None:
    refused = refusal(truncated_jpeg())

    assert refused.reason is Refusal.DAMAGED
    assert refused.message == (
        "That image seems to be damaged: it may not have been saved or sent completely. "
        "Please attach it again."
    )


def test_a_png_cut_inside_its_header_is_damaged() -> None:
    assert refusal(png_with_text_and_trailer()[:20]).reason is Refusal.DAMAGED


def test_a_zero_byte_file_is_refused() -> None:
    refused = refusal(b"")

    assert refused.reason is Refusal.EMPTY
    assert refused.message == "That file is empty. Please attach a photo or a screenshot."


def test_mangled_images_are_kept_or_refused_never_an_error() -> None:
    # Bytes changed, cut out or put in at random (a fixed seed): each answer is an image we
    # keep or a refusal with its message, never another exception (a 500 on the page).
    shuffle = random.Random(24)
    samples = [jpeg_with_gps(), png_with_text_and_trailer(), webp(), animated_gif()]
    reasons = set()
    for _ in range(400):
        data = bytearray(shuffle.choice(samples))
        for _ in range(shuffle.randint(1, 6)):
            at = shuffle.randrange(len(data))
            roll = shuffle.random()
            if roll < 0.6:
                data[at] = shuffle.randrange(256)
            elif roll < 0.8:
                del data[at : at + shuffle.randint(1, 20)]
            else:
                data[at:at] = shuffle.randbytes(shuffle.randint(1, 20))
        try:
            kept = keep(bytes(data))
        except ImageRefused as refused:
            reasons.add(refused.reason)
            assert refused.message
        else:
            assert reopened(kept.data).size == (kept.width, kept.height)
    assert Refusal.DAMAGED in reasons
