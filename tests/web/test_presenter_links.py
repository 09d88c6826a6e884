"""The presenter's absolute links (emails, webhooks, feeds) are built once per endpoint and
values and kept: the same link each time, another for other values, and new ones once
PORTAL_BASE_URL changes."""

from __future__ import annotations

from flask import Flask

from portal import ENVIRONMENT_KEY


def test_links_are_kept_per_endpoint_and_values_and_follow_the_base_url(app: Flask) -> None:
    presenter = app.extensions[ENVIRONMENT_KEY].presenter
    base = app.config["PORTAL_BASE_URL"].rstrip("/")
    first = presenter.url("feedback.detail", item_id=7)
    assert first == f"{base}/feedback/7"
    assert presenter.url("feedback.detail", item_id=7) == first
    assert presenter.url("feedback.detail", item_id=8) == f"{base}/feedback/8"
    assert presenter.url("feedback.detail", item_id=7, _anchor="c3") == f"{first}#c3"
    assert presenter.url("feedback.detail", item_id=7) == first
    # Values in another order are the same link; a value that is no key is still built.
    assert presenter.url("board.index", state="planned", sort="new") == presenter.url(
        "board.index", sort="new", state="planned"
    )
    assert presenter.url("board.index", state=["planned"]).startswith(f"{base}/?state=planned")
    saved = app.config["PORTAL_BASE_URL"]
    app.config["PORTAL_BASE_URL"] = "https://elsewhere.example/portal"
    try:
        assert presenter.url("feedback.detail", item_id=7) == (
            "https://elsewhere.example/portal/feedback/7"
        )
    finally:
        app.config["PORTAL_BASE_URL"] = saved
    assert presenter.url("feedback.detail", item_id=7) == first
