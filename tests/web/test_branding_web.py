"""Branding through the admin settings page: a logo uploaded there shows in every page's header
from its own public, cacheable address; the accent colour comes as a stylesheet the CSP allows;
a colour people could not read is refused with its ratio and changes nothing."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from PIL import Image

from portal.extensions import db
from portal.models import Role, User
from portal.services import branding
from portal.services.site import get_site_settings
from tests.helpers import csrf_token, empty_read_cache, login


def _png(size: tuple[int, int] = (400, 100)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (29, 92, 99)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def admin_client(client: FlaskClient, make_user: Callable[..., User]) -> FlaskClient:
    login(client, make_user(role=Role.ADMIN).email)
    return client


def _send_branding(client: FlaskClient, **fields: object) -> object:
    data = {"csrf_token": csrf_token(client), **fields}
    return client.post("/admin/settings/branding", data=data, content_type="multipart/form-data")


def test_a_logo_uploaded_on_the_settings_page_shows_in_every_pages_header(
    app, admin_client: FlaskClient, make_client
) -> None:
    response = _send_branding(admin_client, logo=(io.BytesIO(_png()), "our-logo.png"))
    assert response.status_code == 302
    key = get_site_settings().logo_key
    assert key is not None
    empty_read_cache(app)
    visitor = make_client()
    page = visitor.get("/").get_data(as_text=True)
    header = page.split("</header>")[0]
    assert re.search(
        rf'<img class="brand__logo" src="/brand/{key}" alt="" width="320" height="80"', header
    )
    image = visitor.get(f"/brand/{key}")
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    assert image.headers["Content-Disposition"] == f'inline; filename="{key}"'
    assert image.headers["Content-Security-Policy"] == "sandbox"
    assert image.headers["Cache-Control"].startswith("public, max-age=")
    assert Image.open(io.BytesIO(image.data)).format == "PNG"


def test_an_old_or_made_up_logo_address_answers_404(admin_client: FlaskClient) -> None:
    _send_branding(admin_client, logo=(io.BytesIO(_png()), "a.png"))
    old = get_site_settings().logo_key
    _send_branding(admin_client, logo=(io.BytesIO(_png((200, 200))), "b.png"))
    assert admin_client.get(f"/brand/{old}").status_code == 404
    assert admin_client.get("/brand/logo-AAAAAAAAAAAAAAAA.png").status_code == 404
    assert admin_client.get("/brand/..%2Fsite.css").status_code == 404


def test_the_accent_colour_comes_as_a_stylesheet_the_csp_allows(
    app, admin_client: FlaskClient, make_client
) -> None:
    assert _send_branding(admin_client, accent_colour="#6B2D5C").status_code == 302
    empty_read_cache(app)
    response = make_client().get("/")
    page = response.get_data(as_text=True)
    assert '<link rel="stylesheet" href="/brand/accent-6b2d5c.css">' in page
    assert "style-src 'self'" in response.headers["Content-Security-Policy"]
    css = make_client().get("/brand/accent-6b2d5c.css")
    assert css.mimetype == "text/css"
    assert "--brand: #6b2d5c;" in css.get_data(as_text=True)
    assert make_client().get("/brand/accent-zz0000.css").status_code == 404


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("#ffee00", "#ffee00 has 1.1:1 against the page; it needs 4.5:1."),
        ("#767676", "#767676 has 4.2:1 against the page; it needs 4.5:1."),
        ("blue-ish", "is not a colour we can use"),
    ],
)
def test_a_refused_colour_keeps_what_was_typed_and_changes_nothing(
    admin_client: FlaskClient, typed: str, message: str
) -> None:
    _send_branding(admin_client, accent_colour="#1d5c63")
    response = _send_branding(
        admin_client, accent_colour=typed, logo=(io.BytesIO(_png()), "logo.png")
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page
    assert f'value="{typed}"' in page
    db.session.expire_all()
    settings = get_site_settings()
    assert settings.accent_colour == "#1d5c63" and settings.logo_key is None


def test_a_logo_that_is_not_png_or_jpeg_is_refused_beside_its_field(
    admin_client: FlaskClient,
) -> None:
    out = io.BytesIO()
    Image.new("RGB", (50, 50)).save(out, "GIF")
    out.seek(0)
    response = _send_branding(admin_client, accent_colour="#000000", logo=(out, "logo.gif"))
    assert response.status_code == 400
    assert "A logo must be a PNG or JPEG image." in response.get_data(as_text=True)
    db.session.expire_all()
    assert get_site_settings().accent_colour is None  # the whole request changed nothing


def test_removing_the_logo_brings_back_the_portals_mark(
    app, admin_client: FlaskClient, make_client, make_user
) -> None:
    branding.set_logo(make_user(role=Role.ADMIN), _png())
    db.session.commit()
    assert _send_branding(admin_client, remove_logo="y").status_code == 302
    empty_read_cache(app)
    page = make_client().get("/").get_data(as_text=True)
    assert "brand__logo" not in page and "brand__mark" in page


def test_a_logo_larger_than_an_ordinary_request_is_taken(
    app, admin_client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A photo-sized logo: larger than the site lets an ordinary form be.
    noisy = Image.frombytes("RGB", (150, 150), os.urandom(150 * 150 * 3))
    out = io.BytesIO()
    noisy.save(out, "PNG")
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", len(out.getvalue()) // 2)

    response = _send_branding(admin_client, logo=(io.BytesIO(out.getvalue()), "photo.png"))

    assert response.status_code == 302
    assert get_site_settings().logo_key is not None


def test_a_logo_sent_with_a_refused_colour_is_said_to_be_not_saved(
    admin_client: FlaskClient,
) -> None:
    response = _send_branding(
        admin_client, accent_colour="#ffee00", logo=(io.BytesIO(_png()), "our-logo.png")
    )

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "needs 4.5:1" in page
    assert "Nothing was saved, the logo included: please choose it again." in page
    assert get_site_settings().logo_key is None
