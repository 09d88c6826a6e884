"""User text becomes HTML only through the sanitize service."""

from __future__ import annotations

import pytest

from portal.services.sanitize import ALLOWED_TAGS, render_markdown
from tests.helpers import executable_markup


def test_script_tag_is_never_passed_through() -> None:
    html = render_markdown("Hello <script>alert(1)</script> there")
    assert "<script" not in html
    assert "&lt;script&gt;" in html  # shown as text, so the customer sees what they typed


def test_javascript_link_is_not_a_link() -> None:
    html = render_markdown("[click me](javascript:alert(1))")
    assert "<a" not in html and executable_markup(html) == []
    assert "click me" in html


@pytest.mark.parametrize(
    "source",
    [
        '<img src=x onerror="alert(1)">',
        "<svg onload=alert(1)>",
        '<a href="#" onclick="alert(1)">x</a>',
        "<iframe src=//evil.example></iframe>",
        "<style>body{display:none}</style>",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[x](JaVaScRiPt:alert(1))",
        "[x](vbscript:msgbox(1))",
    ],
)
def test_hostile_markup_leaves_nothing_executable(source: str) -> None:
    assert executable_markup(render_markdown(source)) == []


def test_markdown_is_rendered_and_links_get_rel() -> None:
    html = render_markdown("**Bold** and [our site](https://example.com) and https://example.org")
    assert "<strong>Bold</strong>" in html
    assert html.count('rel="nofollow ugc noopener"') == 2
    assert 'href="https://example.org"' in html


def test_mailto_links_are_kept() -> None:
    assert 'href="mailto:care@example.com"' in render_markdown("[mail](mailto:care@example.com)")


def test_headings_never_outrank_the_page() -> None:
    html = render_markdown("# Big\n\n## Bigger")
    assert "<h1>" not in html and "<h2>" not in html
    assert html.count("<h3>") == 2


def test_allowlist_has_none_of_the_dangerous_tags() -> None:
    assert not ALLOWED_TAGS & {"svg", "math", "noscript", "style", "iframe", "form", "script"}


def test_the_checker_itself_finds_script() -> None:
    # The helper above must not be a test that cannot fail.
    assert executable_markup(
        '<p onclick="x()">hi</p><a href=" javascript:x">y</a><script>z</script>'
    )


def test_a_line_break_is_kept_as_typed() -> None:
    """People write as in an email: two lines must not run into one sentence."""
    html = render_markdown("The lid came off.\nSecond time this month.\n\nNew paragraph.")
    assert html == "<p>The lid came off.<br>\nSecond time this month.</p>\n<p>New paragraph.</p>\n"


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("Try `<script>` here", "<code>&lt;script&gt;</code>"),
        ("`a & b`", "<code>a &amp; b</code>"),
        (
            "    <b>bold</b> & more\n",
            "<pre><code>&lt;b&gt;bold&lt;/b&gt; &amp; more\n</code></pre>",
        ),
    ],
)
def test_code_shows_its_characters_once(source: str, shown: str) -> None:
    """What someone puts in a code span or block reads back as typed: escaped once for HTML,
    never twice (which a reader would see as "&lt;script&gt;")."""
    html = render_markdown(source)
    assert shown in html
    assert "&amp;lt;" not in html and "&amp;amp;" not in html
    assert executable_markup(html) == []


def test_addresses_in_code_are_not_links_and_text_addresses_are() -> None:
    html = render_markdown("`https://example.com/a?b=1&c=2` and https://example.org/?x=1&y=2")
    assert "<code>https://example.com/a?b=1&amp;c=2</code>" in html
    assert html.count("<a ") == 1
    assert 'href="https://example.org/?x=1&amp;y=2" rel="nofollow ugc noopener"' in html
