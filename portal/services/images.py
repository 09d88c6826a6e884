"""The image pipeline: every uploaded file is decoded and re-encoded before it is kept.

Files from the public are the classic way into a web application, so nothing a person sends
is kept as sent. The type is sniffed from the bytes (never the name or the Content-Type), and
only JPEG, PNG, WebP and GIF are opened, by Pillow's decoders for those four alone. Limits come
first: the size in bytes before anything is parsed, the size in pixels from the header before
anything is decoded (a small file can claim a picture of billions of pixels). The picture is
turned the way its EXIF orientation says, then written afresh: EXIF (GPS included), XMP, text
chunks, colour profiles (the colours converted to sRGB first) and any bytes after the image
are left behind. An animated GIF keeps its first frame, as PNG (every GIF is kept as PNG). A
thumbnail is made at the same time.

Pure functions of bytes and limits: the attachments service passes the settings.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass
from enum import StrEnum

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from portal.services.errors import DomainError
from portal.services.wording import Text, t

# The decoders we open an upload with, and what each is kept as.
TAKEN_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
KEPT_AS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "GIF": "PNG"}
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
# Thumbnails fit this box; pages show them and open the full image.
THUMBNAIL_BOX = (320, 320)
JPEG_QUALITY = 85
WEBP_QUALITY = 85

MEGABYTE = 1024 * 1024

# What Pillow's decoders raise on a file that starts like an image but is not a whole one.
_DECODER_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    struct.error,
    ZeroDivisionError,
)

_PROFILE_ERRORS: tuple[type[Exception], ...] = (ImageCms.PyCMSError, *_DECODER_ERRORS)


class Refusal(StrEnum):
    """Why an upload was not kept (tests and the API read it; people read the message)."""

    EMPTY = "empty"
    NOT_AN_IMAGE = "not_an_image"
    TYPE_NOT_TAKEN = "type_not_taken"
    TOO_LARGE = "too_large"
    TOO_MANY_PIXELS = "too_many_pixels"
    DAMAGED = "damaged"


class ImageRefused(DomainError):
    """An upload we do not keep, with the reason and words for the person who sent it."""

    def __init__(self, reason: Refusal, message: Text) -> None:
        super().__init__(message)
        self.reason = reason
        # The words untranslated, for a message written later in its reader's language.
        self.text = message


@dataclass(frozen=True)
class ProcessedImage:
    """An image as we keep it: re-encoded, with its thumbnail."""

    data: bytes
    content_type: str
    width: int
    height: int
    thumbnail: bytes
    thumbnail_width: int
    thumbnail_height: int

    @property
    def extension(self) -> str:
        """The file extension of its type ("jpg")."""
        return EXTENSIONS[self.content_type]


def process_image(data: bytes, *, max_bytes: int, max_pixels: int) -> ProcessedImage:
    """Check an upload against the limits, decode it and encode it afresh; ImageRefused says
    why when it is not an image we keep."""
    if not data:
        raise ImageRefused(
            Refusal.EMPTY,
            t("That file is empty. Please attach a photo or a screenshot."),
        )
    if len(data) > max_bytes:
        raise ImageRefused(
            Refusal.TOO_LARGE,
            t(
                "That image is larger than the %(limit)d MB we take. Please attach a smaller "
                "one (a screenshot, or the photo shared at a smaller size).",
                limit=max(1, max_bytes // MEGABYTE),
            ),
        )
    # Pillow warns (and, past twice its own limit, refuses) on huge pictures: with our lower
    # limit any such picture is refused. Other warnings of its decoders are not the person's
    # concern: what they sent is decoded in full or refused below.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        picture = _open(data, max_pixels)
        kept_as = KEPT_AS[str(picture.format)]
        try:
            picture.load()
            # In place, and no copy below that is not needed: a 40-megapixel picture is
            # 120 MB or more decoded, and each copy would be as much again.
            ImageOps.exif_transpose(picture, in_place=True)
            clean = _without_metadata(_in_srgb(picture), kept_as)
            thumbnail = _thumbnail(clean)
            return ProcessedImage(
                data=_encode(clean, kept_as),
                content_type=CONTENT_TYPES[kept_as],
                width=clean.width,
                height=clean.height,
                thumbnail=_encode(thumbnail, kept_as),
                thumbnail_width=thumbnail.width,
                thumbnail_height=thumbnail.height,
            )
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels(picture.size, max_pixels) from None
        except _DECODER_ERRORS:
            raise _damaged() from None


def _open(data: bytes, max_pixels: int) -> Image.Image:
    """The image's header read (nothing decoded yet), within the pixel limit."""
    try:
        picture = Image.open(io.BytesIO(data), formats=TAKEN_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(_claimed_size(data), max_pixels) from None
    except UnidentifiedImageError:
        raise _unidentified(data) from None
    except _DECODER_ERRORS:
        raise _damaged() from None
    width, height = picture.size
    if width <= 0 or height <= 0:
        raise _damaged()
    if width * height > max_pixels:
        raise _too_many_pixels(picture.size, max_pixels)
    return picture


def _in_srgb(picture: Image.Image) -> Image.Image:
    """The colours converted to sRGB when the image carries its own colour profile, which is
    then left behind with the rest of the metadata (a profile can name a device)."""
    profile = picture.info.get("icc_profile")
    if not profile or picture.mode not in ("RGB", "RGBA", "CMYK"):
        return picture
    try:
        converted = ImageCms.profileToProfile(
            picture,
            ImageCms.ImageCmsProfile(io.BytesIO(profile)),
            ImageCms.createProfile("sRGB"),
            outputMode="RGBA" if picture.mode == "RGBA" else "RGB",
        )
    except _PROFILE_ERRORS:
        return picture  # a profile we cannot read: the pixels as they are
    return converted if converted is not None else picture


def _without_metadata(picture: Image.Image, kept_as: str) -> Image.Image:
    """The pixels alone, in a mode the kept format writes, with no metadata at all (the
    encoders read some of it, a JPEG comment or a PNG's colour profile, from `info`)."""
    if picture.mode == "P" or picture.mode == "PA":
        picture = picture.convert("RGBA" if _has_transparency(picture) else "RGB")
    wanted: dict[str, tuple[str, ...]] = {
        "JPEG": ("RGB", "L"),
        "PNG": ("RGB", "RGBA", "L", "LA"),
        "WEBP": ("RGB", "RGBA"),
    }
    if picture.mode not in wanted[kept_as]:
        alpha = "A" in picture.getbands() and kept_as != "JPEG"
        picture = picture.convert("RGBA" if alpha else "RGB")
    picture.info = {}
    return picture


def _thumbnail(picture: Image.Image) -> Image.Image:
    """The picture made to fit THUMBNAIL_BOX, keeping its shape (a small one as it is)."""
    width, height = picture.size
    scale = min(1.0, THUMBNAIL_BOX[0] / width, THUMBNAIL_BOX[1] / height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if size == picture.size:
        return picture
    return picture.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _has_transparency(picture: Image.Image) -> bool:
    return picture.mode == "PA" or "transparency" in picture.info


def _encode(picture: Image.Image, kept_as: str) -> bytes:
    out = io.BytesIO()
    if kept_as == "JPEG":
        picture.save(out, "JPEG", quality=JPEG_QUALITY)
    elif kept_as == "WEBP":
        picture.save(out, "WEBP", quality=WEBP_QUALITY)
    else:
        picture.save(out, "PNG")
    return out.getvalue()


# Signatures ------------------------------------------------------------------------------

_TAKEN_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")


def starts_like_a_taken_image(data: bytes) -> bool:
    """Whether the bytes begin as a JPEG, PNG, WebP or GIF does (nothing decoded): for a
    caller that counts images before it decodes them (email intake, past five)."""
    return data.startswith(_TAKEN_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _other_kind(data: bytes) -> Text | None:
    """What to say of a file we do not take, when its first bytes tell what it is (a whole
    sentence each: how "that file is ..." reads depends on the noun in many languages)."""
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<") and b"<svg" in head:
        return t(
            "That file is an SVG drawing. We take JPEG, PNG, WebP and GIF images: please "
            "save it as one of those, or take a screenshot, and attach it again."
        )
    if data.startswith(b"%PDF"):
        return t(
            "That file is a PDF document. We take JPEG, PNG, WebP and GIF images: please "
            "take a screenshot of the page that matters and attach it."
        )
    if data.startswith(b"BM"):
        return t(
            "That file is a BMP image. We take JPEG, PNG, WebP and GIF images: please save "
            "it as one of those and attach it again."
        )
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return t(
            "That file is a TIFF image. We take JPEG, PNG, WebP and GIF images: please save "
            "it as one of those and attach it again."
        )
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"hevc"):
        return t(
            "That file is a HEIC photo. We take JPEG, PNG, WebP and GIF images: please share "
            "the photo as a JPEG and attach it again."
        )
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis"):
        return t(
            "That file is an AVIF image. We take JPEG, PNG, WebP and GIF images: please save "
            "it as one of those and attach it again."
        )
    if data.startswith(b"\x00\x00\x01\x00"):
        return t(
            "That file is an icon. We take JPEG, PNG, WebP and GIF images: please save it as "
            "one of those and attach it again."
        )
    return None


def other_file_refusal(data: bytes) -> ImageRefused:
    """Why a file that does not begin as a JPEG, PNG, WebP or GIF is not kept, told from its
    first bytes alone (whatever its size; nothing is opened): a kind we name (SVG, PDF, HEIC
    ...) or not an image at all."""
    if starts_like_a_taken_image(data):
        raise ValueError("a JPEG, PNG, WebP or GIF goes through process_image")
    return _unidentified(data)


def _claimed_size(data: bytes) -> tuple[int, int]:
    """The width and height a PNG's header claims (for the message; 0 x 0 if unknown)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    return 0, 0


# Refusals --------------------------------------------------------------------------------


def _unidentified(data: bytes) -> ImageRefused:
    if starts_like_a_taken_image(data):
        return _damaged()
    said = _other_kind(data)
    if said is not None:
        return ImageRefused(Refusal.TYPE_NOT_TAKEN, said)
    return ImageRefused(
        Refusal.NOT_AN_IMAGE,
        t(
            "That file is not an image we can read. Please attach a photo or a screenshot "
            "(JPEG, PNG, WebP or GIF)."
        ),
    )


def _too_many_pixels(size: tuple[int, int], max_pixels: int) -> ImageRefused:
    width, height = size
    limit = max(1, max_pixels // 1_000_000)
    if width and height:
        message = t(
            "That image is %(width)d by %(height)d pixels; the most we take is %(limit)d "
            "megapixels. Please attach it at a smaller size.",
            width=width,
            height=height,
            limit=limit,
        )
    else:
        message = t(
            "That image has more pixels than the %(limit)d megapixels we take. Please attach "
            "it at a smaller size.",
            limit=limit,
        )
    return ImageRefused(Refusal.TOO_MANY_PIXELS, message)


def _damaged() -> ImageRefused:
    return ImageRefused(
        Refusal.DAMAGED,
        t(
            "That image seems to be damaged: it may not have been saved or sent completely. "
            "Please attach it again."
        ),
    )
