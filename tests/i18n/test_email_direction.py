"""An email written right to left has its quotes' bar on the right, where its lines start (the
layout says dir="rtl"; email clients honour neither stylesheets nor logical properties)."""

from __future__ import annotations

from flask import Flask
from flask_babel import force_locale


def test_a_quote_has_its_bar_on_the_side_lines_start_from(app: Flask) -> None:
    template = app.jinja_env.from_string(
        '{% from "emails/_boxes.html" import quoted %}{{ quoted("It broke again.") }}'
    )
    with app.test_request_context():
        with force_locale("ar"):
            right_to_left = template.render()
        with force_locale("en"):
            left_to_right = template.render()
    assert "border-right:4px" in right_to_left and "border-left" not in right_to_left
    assert "border-left:4px" in left_to_right and "border-right" not in left_to_right
    assert "It broke again." in right_to_left
