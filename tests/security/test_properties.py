"""Whatever arrives in a form or an address, the answer is never a server error.

Every form is posted, as the kind of person who may use it and with a valid CSRF token, with
random and malformed values: any unicode (NULs included), very long text, missing fields,
numbers, dates and choices that are not numbers, dates or choices, and lists where one value
is expected. Each field is either left out, given a sensible value (so the request gets past
the other fields to the code behind them) or given a bad one. One test tries a list of classic
bad values in every field of every form in turn, the others let Hypothesis mix them at random.
The database keeps what one test's examples did; that is fine.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from portal.extensions import db
from portal.models import FeedbackKind, Role, User
from portal.services import workflow
from portal.services.feedback import submit_feedback
from portal.services.tokens import make_reset_token
from tests.helpers import csrf_token, login

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,  # nothing written into the working tree
)


@dataclass(frozen=True)
class Form:
    """A form: who posts it, where, and the fields it has."""

    name: str
    endpoint: str
    who: str  # visitor, customer, staff or admin
    url: str  # with {item}, {resolved}, {category}, {target} or {reset} to fill in
    fields: tuple[str, ...]
    fresh_browser: bool = False  # a new visitor each time (the form signs people in)


HUMAN = ("website", "form_started")
CATEGORY = ("name", "slug", "description", "ack_target_hours", "response_guide", "position")
FORMS = (
    Form(
        "register",
        "accounts.register",
        "visitor",
        "/account/register",
        ("email", "password", "confirm", "display_name", "preferred_name", *HUMAN),
        fresh_browser=True,
    ),
    Form(
        "login",
        "accounts.login",
        "visitor",
        "/account/login",
        ("email", "password", "remember", "next"),
        fresh_browser=True,
    ),
    Form(
        "submit feedback",
        "feedback.new",
        "customer",
        "/feedback/new",
        ("kind", "category_id", "title", "body", "visibility", *HUMAN),
    ),
    Form("comment", "feedback.comment", "customer", "/feedback/{item}/comments", ("body", *HUMAN)),
    Form("vote", "feedback.vote", "customer", "/feedback/{item}/vote", ("want", "next")),
    Form(
        "not fixed", "feedback.not_fixed", "customer", "/feedback/{resolved}/not-fixed", ("body",)
    ),
    Form(
        "still happens",
        "feedback.still_happens",
        "customer",
        "/feedback/{resolved}/still-happens",
        ("want",),
    ),
    Form("profile", "accounts.index", "customer", "/account/", ("display_name", "preferred_name")),
    Form(
        "preferences",
        "accounts.preferences",
        "customer",
        "/account/preferences",
        ("notification_preference",),
    ),
    Form(
        "change password",
        "accounts.change_password",
        "customer",
        "/account/password",
        ("current_password", "password", "confirm"),
    ),
    Form("delete account", "accounts.delete", "customer", "/account/delete", ("password",)),
    Form("reset request", "accounts.reset_request", "visitor", "/account/reset", ("email", *HUMAN)),
    Form(
        "new password",
        "accounts.reset_password",
        "visitor",
        "/account/reset/{reset}",
        ("password", "confirm"),
    ),
    Form(
        "digest subscribe",
        "digests.subscribe",
        "visitor",
        "/digest/subscribe",
        ("email", "frequency", "categories"),
    ),
    Form(
        "staff move",
        "admin.move",
        "staff",
        "/admin/feedback/{item}/move",
        (
            "to_state",
            "message",
            "target_date",
            "outcome",
            "you_said",
            "duplicate_of",
            "post_anyway",
        ),
    ),
    Form(
        "staff acknowledge",
        "admin.acknowledge",
        "staff",
        "/admin/feedback/{item}/acknowledge",
        ("message", "post_anyway", "next"),
    ),
    Form(
        "staff reply",
        "admin.reply",
        "staff",
        "/admin/feedback/{item}/reply",
        ("body", "post_anyway"),
    ),
    Form("staff note", "admin.note", "staff", "/admin/feedback/{item}/note", ("note",)),
    Form(
        "staff assign",
        "admin.assign",
        "staff",
        "/admin/feedback/{item}/assign",
        ("owner_id", "assign_reason"),
    ),
    Form(
        "staff promise",
        "admin.promise",
        "staff",
        "/admin/feedback/{item}/promise",
        ("new_date", "promise_outcome", "promise_reason"),
    ),
    Form("staff hide", "admin.hide", "staff", "/admin/feedback/{item}/hide", ("reason",)),
    Form("staff redact", "admin.redact", "staff", "/admin/feedback/{item}/redact", ("reason",)),
    Form("tone check", "admin.tone", "staff", "/admin/feedback/{item}/tone", ("body", "message")),
    Form(
        "resolve together",
        "admin.new_resolution",
        "staff",
        "/admin/resolutions/new",
        ("items", "you_said", "we_did", "post_anyway"),
    ),
    Form("category create", "admin.categories_page", "admin", "/admin/categories", CATEGORY),
    Form("category edit", "admin.edit_category", "admin", "/admin/categories/{category}", CATEGORY),
    Form(
        "settings",
        "admin.settings",
        "admin",
        "/admin/settings",
        (
            "organisation_name",
            "contact_email",
            "contact_phone",
            "contact_address",
            "time_zone",
            "pre_moderation",
        ),
    ),
    Form(
        "user role", "admin.update_user", "admin", "/admin/users/{target}", ("role", "active", "q")
    ),
    Form("api token", "admin.tokens", "admin", "/admin/tokens", ("name", "scope")),
)
ALL_FIELDS = sorted({name for form in FORMS for name in form.fields})

# Values that have broken forms before: NULs, numbers beyond 64 bits, digits int() refuses,
# impossible dates, markup, and long text.
CLASSIC_BAD_VALUES = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "-1",
    "0",
    "99999999999999999999",
    "-9223372036854775809",
    "1e309",
    "NaN",
    "\u00b2",
    "\u0661\u0662",
    "2026-02-30",
    "0001-01-01",
    "9999-12-31",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "\u202egnp.exe",
    "x" * 20_000,
    "\u00fc" * 4_000,
)

# Tried in each field in turn, with good values in the others.
FIELD_BAD_VALUES = (
    "a NUL \x00 in a sentence",  # long enough to pass the minimum lengths
    "-1",
    "99999999999999999999",
    "\u00b2",
    "2026-02-30",
    "x" * 12_000,
    ["1", "\u00b2"],
)

_text = st.text(max_size=60)
_long = st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=4), st.integers(500, 2_500))
_scalar = st.one_of(
    _text,
    _long,
    st.sampled_from(CLASSIC_BAD_VALUES),
    st.integers().map(str),
    st.floats().map(str),
    st.dates().map(str),
)
_value = st.one_of(_scalar, st.lists(_scalar, min_size=2, max_size=3))
VALID = "<a sensible value>"  # stands for the form's own good value for that field
_field = st.one_of(st.just(VALID), _value)
FORM_DATA = st.fixed_dictionaries(
    {"_state": st.integers(0, 6)}, optional=dict.fromkeys(ALL_FIELDS, _field)
)
STATES = (
    "acknowledged",
    "investigating",
    "planned",
    "in_progress",
    "resolved",
    "declined",
    "duplicate",
)

# Good values, so that a bad value in one field meets the code behind the form's checks.
# The ids of the test's rows ({item}, {category}, ...), a state for moves and a counter {n}
# for values that must be new each time are filled in.
GOOD: dict[str, dict[str, str | list[str]]] = {
    "register": {
        "email": "new-{n}@example.com",
        "password": "a long enough password",
        "confirm": "a long enough password",
        "display_name": "Nia",
        "preferred_name": "Nia J.",
    },
    "login": {"email": "{customer_email}", "password": "not the password", "next": "/"},
    "submit feedback": {
        "kind": "idea",
        "category_id": "{category}",
        "title": "The bins were missed again",
        "body": "Third week running on our street.",
        "visibility": "public",
    },
    "comment": {"body": "Same here."},
    "vote": {"want": "1", "next": "/"},
    "still happens": {"want": "1"},
    "not fixed": {"body": "Still broken."},
    "profile": {"display_name": "Nia", "preferred_name": "Nia"},
    "preferences": {"notification_preference": "all"},
    "change password": {
        "current_password": "not the password",
        "password": "a long enough password",
        "confirm": "a long enough password",
    },
    "delete account": {"password": "not the password"},
    "reset request": {"email": "{reset_email}"},
    "new password": {"password": "a long enough password", "confirm": "a long enough password"},
    "digest subscribe": {
        "email": "reader-{n}@example.com",
        "frequency": "weekly",
        "categories": ["{category}"],
    },
    "staff move": {
        "to_state": "{state}",
        "message": "Thank you for telling us, we are on it.",
        "target_date": "2031-05-01",
        "outcome": "your bins collected every week",
        "you_said": "Bins missed",
        "duplicate_of": "{other_item}",
        "post_anyway": "Post anyway",
    },
    "staff acknowledge": {"message": "Thank you, we are on it.", "post_anyway": "Post anyway"},
    "staff reply": {"body": "Thank you, we are on it.", "post_anyway": "Post anyway"},
    "staff note": {"note": "Checked the round sheets."},
    "staff assign": {"owner_id": "{staff}", "assign_reason": "Holiday cover"},
    "staff promise": {
        "new_date": "2031-06-0{state_digit}",
        "promise_outcome": "your bins collected every week",
        "promise_reason": "Parts are late",
    },
    "staff hide": {"reason": "Personal details"},
    "staff redact": {"reason": "Personal details"},
    "tone check": {"body": "Sorry about this.", "message": "Sorry."},
    "resolve together": {
        "items": ["{item}", "{other_item}"],
        "you_said": "Bins missed",
        "we_did": "We added a second round.",
        "post_anyway": "Post anyway",
    },
    "category create": {
        "name": "Roads {n}",
        "slug": "roads-{n}",
        "description": "Potholes and signs.",
        "ack_target_hours": "48",
        "response_guide": "Thank them.",
        "position": "1",
    },
    "settings": {
        "organisation_name": "Harbour Council",
        "contact_email": "help@example.com",
        "contact_phone": "01234 567890",
        "contact_address": "1 Quay Street",
        "time_zone": "Europe/London",
        "pre_moderation": "",
    },
    "user role": {"role": "customer", "active": "y", "q": ""},
    "api token": {"name": "CRM sync {n}", "scope": "read"},
}
GOOD["category edit"] = GOOD["category create"]
_counter = itertools.count()


def _good(form: Form, people: People, state: int) -> dict[str, str | list[str]]:
    """The form's good values, with the ids of this test's rows filled in."""
    names = {
        **{k: str(v) for k, v in people.ids.items()},
        "customer_email": people.people["customer"].email,
        "reset_email": people.reset_user.email,
        "state": STATES[state % len(STATES)],
        "state_digit": str(state % 9 + 1),
        "n": str(next(_counter)),
    }

    def fill(value: str | list[str]) -> str | list[str]:
        if isinstance(value, list):
            return [v.format(**names) for v in value]
        return value.format(**names)

    return {name: fill(value) for name, value in GOOD[form.name].items()}


def test_every_form_has_good_values() -> None:
    for form in FORMS:
        assert set(GOOD[form.name]) <= set(form.fields), form.name


@dataclass
class People:
    """Who posts, signed in once per test, and the rows the addresses point at."""

    people: dict[str, User]
    ids: dict[str, int]
    reset_user: User
    app: Flask
    browsers: dict[str, FlaskClient]
    tokens: dict[str, str]

    def browser(self, form: Form) -> tuple[FlaskClient, str]:
        if form.fresh_browser or form.who not in self.browsers:
            client = self.app.test_client()
            if form.who != "visitor":
                login(client, self.people[form.who].email)
            if form.fresh_browser:
                return client, csrf_token(client)
            self.browsers[form.who] = client
            self.tokens[form.who] = csrf_token(client)
        return self.browsers[form.who], self.tokens[form.who]

    def url(self, form: Form) -> str:
        db.session.expire_all()
        user = db.session.get(User, self.reset_user.id)
        reset = make_reset_token(user.id, user.password_hash)
        return form.url.format(**{k: str(v) for k, v in self.ids.items()}, reset=reset)

    def fresh_item(self) -> None:
        """A new item just received, so every move is open to it again."""
        item = submit_feedback(
            self.people["author"],
            kind=FeedbackKind.COMPLAINT,
            category_id=self.ids["category"],
            title="The bins were missed again",
            body="Third week running.",
        )
        db.session.commit()
        self.ids["item"] = item.id


@pytest.fixture
def people(app: Flask, make_user, make_verified_user, make_category, make_feedback) -> People:
    customer = make_verified_user()
    author = make_user()
    staff = make_user(role=Role.STAFF)
    admin = make_user(role=Role.ADMIN)
    category = make_category()
    item = make_feedback(author=author, category=category)
    other_item = make_feedback(category=category)
    resolved = make_feedback(author=customer, category=category)
    workflow.resolve(resolved.id, staff, "We fixed it.", post_anyway=True)
    db.session.commit()
    return People(
        people={"customer": customer, "staff": staff, "admin": admin, "author": author},
        ids={
            "item": item.id,
            "other_item": other_item.id,
            "staff": staff.id,
            "resolved": resolved.id,
            "category": category.id,
            "target": make_user().id,
        },
        reset_user=make_verified_user(),
        app=app,
        browsers={},
        tokens={},
    )


def _post(people: People, form: Form, fields: dict[str, Any]) -> str | None:
    """Post the form; what went wrong if the answer was a server error, else None."""
    client, token = people.browser(form)
    url = people.url(form)
    where = f"{form.name}: POST {url} as {form.who} with {_short(fields)}"
    try:
        response = client.post(url, data={**fields, "csrf_token": token})
    except Exception as exc:  # the test app propagates what would be a 500
        return f"{where} -> 500 ({type(exc).__name__}: {str(exc)[:200]})"
    return f"{where} -> {response.status_code}" if response.status_code >= 500 else None


# The state a staff move asks for, when a field matters only to that move.
FIELD_STATE = {"target_date": 2, "outcome": 2, "you_said": 4, "duplicate_of": 6}


@pytest.mark.parametrize("form", FORMS, ids=lambda form: form.name)
def test_no_form_field_breaks_on_a_classic_bad_value(
    app: Flask, people: People, form: Form
) -> None:
    """Each field in turn gets each of a few classic bad values; the other fields keep good
    values, so the bad one reaches the code behind the form."""
    if form.endpoint not in app.view_functions:
        return  # that form is not built yet
    about_an_item = "{item}" in form.url or form.name == "resolve together"
    problems = [_post(people, form, {})]
    for state in range(len(STATES)) if "to_state" in form.fields else (0,):
        if about_an_item:
            people.fresh_item()
        problems.append(_post(people, form, _good(form, people, state)))
    for name in form.fields:
        for value in FIELD_BAD_VALUES:
            if about_an_item:
                people.fresh_item()
            good = _good(form, people, FIELD_STATE.get(name, 0))
            problems.append(_post(people, form, {**good, name: value}))
    problems = [p for p in problems if p]
    assert not problems, f"{len(problems)} server errors:\n" + "\n".join(problems)


@pytest.mark.parametrize("form", FORMS, ids=lambda form: form.name)
@SETTINGS
@given(data=FORM_DATA)
def test_no_form_answers_random_values_with_a_server_error(
    app: Flask, people: People, form: Form, data: dict[str, Any]
) -> None:
    if form.endpoint not in app.view_functions:
        return  # that form is not built yet
    good = _good(form, people, data["_state"])
    fields = {
        name: good.get(name, "") if value == VALID else value
        for name, value in data.items()
        if name in form.fields
    }
    problem = _post(people, form, fields)
    assert problem is None, problem


def _short(values: dict[str, Any]) -> str:
    def cut(value: Any) -> Any:
        if isinstance(value, list):
            return [cut(v) for v in value]
        return value if len(value) <= 40 else f"{value[:20]!r}...({len(value)} chars)"

    return repr({name: cut(value) for name, value in values.items()})


# Addresses ---------------------------------------------------------------------------------

QUERY_KEYS = (
    "q",
    "page",
    "per_page",
    "state",
    "category",
    "kind",
    "sort",
    "owner",
    "overdue",
    "all",
    "private",
    "reopen",
    "review",
    "items",
    "title",
    "body",
    "next",
)
PAGES = (
    ("/", "visitor"),
    ("/you-said-we-did", "visitor"),
    ("/feedback/suggest", "visitor"),
    ("/feeds/resolutions.atom", "visitor"),
    ("/account/login", "visitor"),
    ("/digest/subscribe", "visitor"),
    ("/feedback/new", "customer"),
    ("/admin/", "staff"),
    ("/admin/resolutions/new", "staff"),
    ("/admin/users", "admin"),
    ("/admin/audit", "admin"),
)
QUERY = st.fixed_dictionaries({}, optional=dict.fromkeys(QUERY_KEYS, _value))


def _with_classic_queries(test: Callable[..., Any]) -> Callable[..., Any]:
    for value in ("\x00", "-1", "99999999999999999999", "\u00b2", "2026-02-30", "' OR 1=1 --"):
        test = example(query=dict.fromkeys(QUERY_KEYS, value))(test)
    test = example(query={key: ["1", "\u00b2"] for key in QUERY_KEYS})(test)
    return test


@pytest.mark.parametrize(("path", "who"), PAGES)
@SETTINGS
@given(query=QUERY)
@_with_classic_queries
def test_no_page_answers_a_strange_address_with_a_server_error(
    people: People, path: str, who: str, query: dict[str, Any]
) -> None:
    client, _ = people.browser(Form("page", "", who, path, ()))
    where = f"GET {path} as {who} with {_short(query)}"
    try:
        response = client.get(path, query_string=query)
    except Exception as exc:  # the test app propagates what would be a 500
        raise AssertionError(f"{where} -> 500 ({type(exc).__name__}: {exc})") from exc
    assert response.status_code < 500, f"{where} -> {response.status_code}"
