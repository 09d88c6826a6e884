"""The public "How we are doing" page and the staff insights page, through the test client."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import Feedback, Role, User, Visibility
from portal.services import workflow
from portal.services.insights import report
from tests.helpers import count_queries, login

SECRET_TITLE = "My neighbour Mrs Pryce reads my post"
SECRET_BODY = "Flat 4b, the code for the door is 1234."
SORRY = "Nia, I am sorry this happened; I have read it and I am looking into it today."


class _Markup(HTMLParser):
    """Collects what the CSP and accessibility checks need: style attributes, inline
    scripts, and every SVG with its accessible name."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.style_attributes: list[str] = []
        self.inline_scripts = 0
        self.svgs: list[dict[str, str | None]] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if "style" in found:
            self.style_attributes.append(tag)
        if tag == "style" or (tag == "script" and not found.get("src")):
            self.inline_scripts += 1
        if found.get("id"):
            self.ids.append(found["id"] or "")
        if tag == "svg":
            self.svgs.append(found)


def _parse(html: str) -> _Markup:
    parser = _Markup()
    parser.feed(html)
    return parser


def _assert_charts_are_accessible(html: str, at_least: int) -> None:
    markup = _parse(html)
    assert not markup.style_attributes, markup.style_attributes
    assert markup.inline_scripts == 0
    assert len(markup.ids) == len(set(markup.ids)), "every id is used once"
    assert len(markup.svgs) >= at_least
    for svg in markup.svgs:
        assert svg.get("role") == "img"
        labels = (svg.get("aria-labelledby") or "").split()
        assert len(labels) == 2 and all(label in markup.ids for label in labels), svg
    # Every chart has a <title> and a <desc>, and a visible caption or table beside it.
    assert html.count("<title id=") == len(markup.svgs)
    assert html.count("<desc id=") == len(markup.svgs)
    assert "<figcaption" in html and "<table" in html


def _signed_in(make_client: Callable[[], FlaskClient], user: User) -> FlaskClient:
    browser = make_client()
    login(browser, user.email)
    return browser


def _a_few_items(make_user, make_category, make_feedback) -> dict[str, Feedback]:
    staff = make_user(role=Role.STAFF, display_name="Ada")
    category = make_category(name="Deliveries", ack_target_hours=24)
    answered = make_feedback(category=category, title="Parcel left in the rain")
    workflow.acknowledge(answered.id, staff, SORRY, post_anyway=True)
    workflow.resolve(
        answered.id, staff, "We gave every driver a waterproof parcel box.", post_anyway=True
    )
    secret = make_feedback(
        category=category, title=SECRET_TITLE, body=SECRET_BODY, visibility=Visibility.PRIVATE
    )
    declined = make_feedback(category=category, title="Deliver at 3am")
    workflow.decline(
        declined.id, staff, "Sorry, Nia: our drivers do not work at night.", post_anyway=True
    )
    db.session.commit()
    return {"answered": answered, "secret": secret, "declined": declined, "staff": staff}


def _figure(html: str, name: str) -> list[str]:
    return re.findall(rf"{name}</dt>\s*<dd><span class=\"figures__value\">([^<]+)<", html)


# The public page ------------------------------------------------------------------------------


def test_how_we_are_doing_shows_the_figures_for_30_and_365_days(
    client, make_user, make_category, make_feedback
) -> None:
    _a_few_items(make_user, make_category, make_feedback)
    response = client.get("/how-we-are-doing")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Last 30 days" in html and "Last 12 months" in html
    assert _figure(html, "Feedback received") == ["3", "3"]
    assert _figure(html, "Resolved") == ["1", "1"]
    assert _figure(html, "Not planned \\(declined, with our reasons\\)") == ["1", "1"]
    # All three were acknowledged at once (declining acknowledges too); the private one is
    # not yet due, so it counts neither way.
    assert _figure(html, "Acknowledged by a person within our target") == ["100%", "100%"]
    assert _figure(html, "Typical time to acknowledge") == ["under a minute"] * 2
    assert _figure(html, "Promised dates kept") == ["no data", "no data"]
    assert "We gave every driver a waterproof parcel box." in html  # the latest resolution
    assert "css/insights.css" in html


def test_how_we_are_doing_never_shows_private_content(
    client, make_user, make_category, make_feedback
) -> None:
    _a_few_items(make_user, make_category, make_feedback)
    html = client.get("/how-we-are-doing").get_data(as_text=True)
    assert SECRET_TITLE not in html
    assert "Flat 4b" not in html and "1234" not in html
    assert "Deliver at 3am" not in html  # no item titles at all, public ones included


def test_how_we_are_doing_charts_have_text_equivalents_and_no_inline_style(
    client, make_user, make_category, make_feedback
) -> None:
    _a_few_items(make_user, make_category, make_feedback)
    response = client.get("/how-we-are-doing")
    html = response.get_data(as_text=True)
    _assert_charts_are_accessible(html, at_least=3)
    assert "Acknowledged within target last 30 days: 100%." in html  # a chart's <desc>
    assert "style-src 'self'" in response.headers["Content-Security-Policy"]


def test_how_we_are_doing_with_no_feedback_at_all(client) -> None:
    response = client.get("/how-we-are-doing")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert _figure(html, "Feedback received") == ["0", "0"]
    assert "no data" in html and "Nothing published yet" in html
    _assert_charts_are_accessible(html, at_least=3)


def test_how_we_are_doing_answers_htmx_requests_with_the_page(client) -> None:
    plain = client.get("/how-we-are-doing")
    boosted = client.get("/how-we-are-doing", headers={"HX-Request": "true"})
    assert plain.status_code == boosted.status_code == 200
    assert "<h1>How we are doing</h1>" in boosted.get_data(as_text=True)


def test_how_we_are_doing_costs_the_same_queries_for_3_and_30_items(
    client, make_user, make_category, make_feedback
) -> None:
    author, category = make_user(), make_category()
    for _ in range(3):
        make_feedback(author=author, category=category)
    with count_queries(db.engine) as few:
        client.get("/how-we-are-doing")
    for _ in range(27):
        make_feedback(author=author, category=category)
    with count_queries(db.engine) as many:
        client.get("/how-we-are-doing")
    assert many.count == few.count
    # 8 figures for each of 2 periods, the weekly counts, the resolutions, the site settings.
    assert many.count <= 19, many.statements


def test_every_page_links_to_how_we_are_doing(client) -> None:
    html = client.get("/").get_data(as_text=True)
    assert 'href="/how-we-are-doing"' in html


# The staff page ------------------------------------------------------------------------------


def test_staff_see_insights_with_charts_and_a_date_range(
    make_client, make_user, make_category, make_feedback
) -> None:
    items = _a_few_items(make_user, make_category, make_feedback)
    browser = _signed_in(make_client, items["staff"])
    response = browser.get("/admin/insights")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'type="date" name="from"' in html and 'type="date" name="to"' in html
    assert "Items per week" in html and "Recurring problems" in html
    assert "Workload right now" in html and "Email digest" in html
    # Staff see private titles: the most-voted open items include the private one.
    assert SECRET_TITLE in html
    assert 'href="/admin/insights"' in html  # the staff navigation links here
    _assert_charts_are_accessible(html, at_least=6)


def test_insights_follow_the_date_range_picker(
    make_client, make_user, make_category, make_feedback
) -> None:
    items = _a_few_items(make_user, make_category, make_feedback)
    browser = _signed_in(make_client, items["staff"])
    html = browser.get("/admin/insights?from=2020-01-06&to=2020-01-19").get_data(as_text=True)
    assert 'value="2020-01-06"' in html and 'value="2020-01-19"' in html
    assert "(14 days, UTC)" in html
    assert "Items per week and kind" in html
    # Nothing was received back then: the summary says so.
    assert re.search(r"Received</p><p class=\"figure-card__value\">0<", html)
    mended = browser.get("/admin/insights?from=nonsense&to=2020-01-19").get_data(as_text=True)
    assert "was not a date" in mended
    for odd in ("from=0001-01-01&to=0001-01-01", "from=9999-12-31&to=9999-12-31", "to=x&from="):
        assert browser.get(f"/admin/insights?{odd}").status_code == 200, odd
        assert browser.get(f"/admin/insights.csv?table=digest&{odd}").status_code == 200, odd
    # A NUL is refused before any view runs (no keyboard types one), with a clear 400.
    refused = browser.get("/admin/insights", query_string={"from": "\x00"})
    assert refused.status_code == 400 and "cannot store" in refused.get_data(as_text=True)
    for value in ("-1", "99999999999999999999", "\u00b2", "2026-02-30", "' OR 1=1 --"):
        query = {"from": value, "to": value}
        assert browser.get("/admin/insights", query_string=query).status_code == 200, value
        query["table"] = value
        assert browser.get("/admin/insights.csv", query_string=query).status_code == 404, value


def test_every_insights_table_downloads_as_csv(
    make_client, make_user, make_category, make_feedback
) -> None:
    items = _a_few_items(make_user, make_category, make_feedback)
    browser = _signed_in(make_client, items["staff"])
    today = datetime.now(UTC).date()
    first = today - timedelta(days=30)
    for name, (_, headers, _) in report.TABLES.items():
        response = browser.get(f"/admin/insights.csv?table={name}&from={first}&to=2099-01-01")
        assert response.status_code == 200, name
        assert response.mimetype == "text/csv"
        assert response.headers["Content-Disposition"] == (
            f'attachment; filename="insights-{name}-{first}-{today}.csv"'
        )
        rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
        assert rows[0] == headers
    summary = browser.get("/admin/insights.csv?table=summary").get_data(as_text=True)
    figures = dict(csv.reader(io.StringIO(summary)))
    assert (figures["received"], figures["resolved"], figures["declined"]) == ("3", "1", "1")


def test_an_unknown_insights_table_is_not_found_and_none_means_the_summary(
    make_client, make_user
) -> None:
    browser = _signed_in(make_client, make_user(role=Role.STAFF))
    assert browser.get("/admin/insights.csv?table=users").status_code == 404
    # Without a table name the summary comes down.
    assert browser.get("/admin/insights.csv").get_data(as_text=True).startswith("figure,value")


def test_customers_and_visitors_cannot_see_insights(make_client, make_user) -> None:
    customer = _signed_in(make_client, make_user())
    assert customer.get("/admin/insights").status_code == 403
    assert customer.get("/admin/insights.csv?table=summary").status_code == 403
    visitor = make_client()
    assert visitor.get("/admin/insights").status_code == 302
    assert visitor.get("/admin/insights.csv?table=workload").status_code == 302


def test_staff_insights_cost_the_same_queries_for_3_and_30_items(
    make_client, make_user, make_category, make_feedback
) -> None:
    staff = make_user(role=Role.STAFF)
    browser = _signed_in(make_client, staff)
    author, category = make_user(), make_category()
    for _ in range(3):
        make_feedback(author=author, category=category)
    with count_queries(db.engine) as few:
        browser.get("/admin/insights")
    for _ in range(27):
        make_feedback(author=author, category=make_category())
    with count_queries(db.engine) as many:
        browser.get("/admin/insights")
    assert many.count == few.count, many.statements


def test_how_we_are_doing_keeps_its_figures_for_a_few_minutes(
    app, client, make_user, make_category, make_feedback
) -> None:
    app.config["INSIGHTS_PUBLIC_CACHE_SECONDS"] = 300
    app.extensions.pop("insights.public_page", None)
    try:
        make_feedback()
        first = client.get("/how-we-are-doing").get_data(as_text=True)
        make_feedback()
        with count_queries(db.engine) as cached:
            second = client.get("/how-we-are-doing").get_data(as_text=True)
        assert _figure(first, "Feedback received") == _figure(second, "Feedback received")
        assert _figure(second, "Feedback received") == ["1", "1"]
        assert cached.count <= 2, cached.statements  # the session's user and the site settings
    finally:
        app.config["INSIGHTS_PUBLIC_CACHE_SECONDS"] = 0
        app.extensions.pop("insights.public_page", None)
