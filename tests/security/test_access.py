"""Who may reach which address, for every route the app has, and private items leak nowhere.

ACCESS below classifies every endpoint; a new route fails the first test until it is added,
so every address gets an access decision on purpose."""

from __future__ import annotations

import io
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from portal.extensions import db
from portal.models import Category, Feedback, Role, User, Visibility
from portal.services import (
    api_tokens,
    attachments,
    branding,
    chat,
    digests,
    identity_providers,
    invitations,
    webhooks,
    workflow,
)
from portal.services import feedback as feedback_service
from portal.services.accounts import hash_password, is_safe_next, start_session
from portal.services.api import customer_for_email
from portal.services.tokens import (
    hash_secret,
    make_claim_token,
    make_digest_change_token,
    make_digest_subscription_token,
    make_email_change_token,
    make_invitation_token,
    make_registration_token,
    make_reset_token,
    make_sign_in_token,
    make_unsubscribe_token,
    make_verify_token,
)
from portal.services.workflow import WorkflowError
from tests.helpers import csrf_token, login, resolve_together

PUBLIC = "public"  # anyone, signed in or not
SIGNED_IN = "signed-in"  # any signed-in person; visitors are sent to sign in
AUTHOR = "author"  # signed in, and only the item's author gets past the rule (staff: 403)
CUSTOMER = "customer"  # signed-in customers who may see the item; staff answer elsewhere (403)
STAFF = "staff"  # staff and admins; customers get 403
ADMIN = "admin"  # admins only; staff and customers get 403
TOKEN = "token"  # anyone holding the link's token; a wrong token is refused politely
API = "api"  # the public JSON API: public items only, whoever asks
API_WRITE = "api-write"  # needs a bearer token; a session cookie counts for nothing (401)

ACCESS: dict[str, str] = {
    "accounts.accept_invitation": TOKEN,
    "accounts.change_email": SIGNED_IN,
    "accounts.change_password": SIGNED_IN,
    "accounts.claim": TOKEN,
    "accounts.confirm_email_change": TOKEN,
    "accounts.delete": SIGNED_IN,
    "accounts.end_session": SIGNED_IN,
    "accounts.export": SIGNED_IN,
    "accounts.finish_registration": TOKEN,
    "accounts.index": SIGNED_IN,
    "accounts.login": PUBLIC,
    "accounts.logout": PUBLIC,
    "accounts.preferences": SIGNED_IN,
    "accounts.register": PUBLIC,
    "accounts.resend_verification": SIGNED_IN,
    "accounts.reset_password": TOKEN,
    "accounts.reset_request": PUBLIC,
    "accounts.sign_in_link": TOKEN,
    "accounts.sign_in_link_request": PUBLIC,
    "accounts.sign_out_everywhere": SIGNED_IN,
    "accounts.updates_page": SIGNED_IN,
    "accounts.verify": TOKEN,
    "admin.acknowledge": STAFF,
    "admin.approve": STAFF,
    "admin.assign": STAFF,
    "admin.audit_log": ADMIN,
    "admin.categories_page": ADMIN,
    "admin.edit_category": ADMIN,
    "admin.edit_resolution": STAFF,
    "admin.hide": STAFF,
    "admin.hide_comment": STAFF,
    "admin.remove_image": STAFF,
    "admin.record": STAFF,
    "admin.me_too": STAFF,
    "admin.item": STAFF,
    "admin.move": STAFF,
    "admin.new_resolution": STAFF,
    "admin.note": STAFF,
    "admin.promise": STAFF,
    "admin.queue": STAFF,
    "admin.redact": STAFF,
    "admin.reply": STAFF,
    "admin.settings": ADMIN,
    "admin.branding_settings": ADMIN,
    "admin.take": STAFF,
    "admin.tone": STAFF,
    "admin.update_user": ADMIN,
    "admin.person": ADMIN,
    "admin.customer_value_form": ADMIN,
    "admin.users": ADMIN,
    "admin.save_roles": ADMIN,
    "admin.invite": ADMIN,
    "admin.resend_invitation": ADMIN,
    "admin.revoke_invitation": ADMIN,
    "admin.dismiss_get_started": ADMIN,
    "admin.tokens": ADMIN,
    "admin.revoke_token": ADMIN,
    "admin.webhooks_page": ADMIN,
    "admin.webhook": ADMIN,
    "admin.webhook_change": ADMIN,
    "admin.webhook_toggle": ADMIN,
    "admin.webhook_rotate": ADMIN,
    "admin.webhook_ping": ADMIN,
    "admin.webhook_send_again": ADMIN,
    "admin.webhook_delete": ADMIN,
    "admin.chat_page": ADMIN,
    "admin.chat_channel": ADMIN,
    "admin.chat_test": ADMIN,
    "admin.chat_message": ADMIN,
    "admin.chat_delete": ADMIN,
    "admin.sso_page": ADMIN,
    "admin.sso_secret": ADMIN,
    "admin.sso_key": ADMIN,
    "admin.sso_jwks": ADMIN,
    "admin.sign_in_page": ADMIN,
    "admin.add_provider": ADMIN,
    "admin.provider_page": ADMIN,
    "admin.change_provider": ADMIN,
    "admin.toggle_provider": ADMIN,
    "admin.save_sign_in_policy": ADMIN,
    "admin.widget_page": ADMIN,
    "admin.widget_origins": ADMIN,
    "admin.insights": STAFF,
    "admin.insights_csv": STAFF,
    "api.add_vote": API_WRITE,
    "api.categories_list": API,
    "api.create_item": API_WRITE,
    # Customer value is staff data: even reading it needs a write-scope token.
    "api.customer": API_WRITE,
    "api.update_customer": API_WRITE,
    "api.index": API,
    "api.item": API,
    "api.items": API,
    "api.openapi": API,
    "api.reply": API_WRITE,
    "api.resolutions": API,
    "api.still_happens": API_WRITE,
    "api.still_wanted": API_WRITE,
    "api.timeline": API,
    "api.transition": API_WRITE,
    "attachments.image": PUBLIC,
    "attachments.thumbnail": PUBLIC,
    "attachments.upload": SIGNED_IN,
    "board.index": PUBLIC,
    "digests.change": TOKEN,
    "digests.confirm": TOKEN,
    "digests.subscribe": PUBLIC,
    "digests.subscription": TOKEN,
    "digests.unsubscribe": TOKEN,
    "feedback.check_details": SIGNED_IN,
    "feedback.comment": SIGNED_IN,
    "feedback.detail": PUBLIC,
    "feedback.edit_comment": AUTHOR,
    "feedback.edit_item": AUTHOR,
    "feedback.fixed": AUTHOR,
    "feedback.follow": SIGNED_IN,
    "feedback.new": SIGNED_IN,
    "feedback.not_fixed": AUTHOR,
    "feedback.still_happens": CUSTOMER,
    "feedback.still_wanted": CUSTOMER,
    "feedback.submitted": AUTHOR,
    "feedback.suggest": PUBLIC,
    "feedback.vote": SIGNED_IN,
    "feeds.category_atom": PUBLIC,
    "feeds.resolutions_atom": PUBLIC,
    "feeds.resolutions_rss": PUBLIC,
    "insights.how_we_are_doing": PUBLIC,
    "main.healthz": PUBLIC,
    "main.logo": PUBLIC,
    "main.accent_css": PUBLIC,
    "languages.choose": PUBLIC,
    "notifications.unsubscribe": TOKEN,
    "resolutions.detail": PUBLIC,
    "resolutions.index": PUBLIC,
    "roadmap.atom": PUBLIC,
    "roadmap.index": PUBLIC,
    # Posted by the organisation's page; the signed token in the form is the proof.
    "sso.sign_in": PUBLIC,
    # Sign-in through an identity provider: the start, the provider's answer (its state is
    # the proof), a staff link's confirmation, and the step to the provider's sign-out.
    "providers.start": PUBLIC,
    "providers.callback": PUBLIC,
    "providers.confirm": PUBLIC,
    "providers.sign_out_there": PUBLIC,
    "providers.remove": SIGNED_IN,
    "static": PUBLIC,
    # The feedback widget: its token, not the session, names who sends (a POST without one
    # is refused with 400).
    "widget.form": PUBLIC,
    "widget.send": PUBLIC,
    "widget.sign_in": PUBLIC,
    "widget.continue_on_site": PUBLIC,
}

# Routes about one item: the item in the sweep is private, so other customers get a 404 from
# them exactly as if it did not exist (and visitors too, where no sign-in comes first).
ITEM_ROUTES = {
    "attachments.image",  # an image attached to the item follows it
    "attachments.thumbnail",
    "feedback.detail",
    "feedback.comment",
    "feedback.edit_comment",
    "feedback.edit_item",
    "feedback.fixed",
    "feedback.follow",
    "feedback.not_fixed",
    "feedback.still_happens",
    "feedback.still_wanted",
    "feedback.submitted",
    "feedback.vote",
}
# Open to an item in some states only: the sweep's item is Done, so a vote (closed with the
# item) and "I still want this" (said of a Not planned item) are refused there as a conflict
# with its state, and its author's words, answered, are closed to edits.
STATE_BOUND = {
    "feedback.vote",
    "feedback.still_wanted",
    "feedback.edit_item",
    "feedback.edit_comment",
}
# The API shows public items only: the private item is a 404 to everyone there.
API_ITEM_ROUTES = {"api.item", "api.timeline"}
# Requests that end the session they are made in; the sweep signs back in after them.
SESSION_ENDING = {"accounts.logout", "accounts.sign_out_everywhere"}
# Following a registration or sign-in link signs its holder in, whoever was signed in.
SESSION_CHANGING = {*SESSION_ENDING, "accounts.finish_registration", "accounts.sign_in_link"}
ROLES = ("visitor", "customer", "other", "staff", "admin")
SECRET_TITLE = "Quokka enclosure gate keeps swinging open"
SECRET_WORD = "quokka"
SECRET_BODY = "My flat number is 12b and the wallaby keeper knows me"


def test_every_route_has_an_access_class(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    unknown = sorted(endpoints - ACCESS.keys())
    assert not unknown, f"routes with no access class in ACCESS (classify them): {unknown}"
    stale = sorted(ACCESS.keys() - endpoints)
    assert not stale, f"ACCESS lists routes that no longer exist: {stale}"
    assert ACCESS.keys() >= ITEM_ROUTES


# The sweep ---------------------------------------------------------------------------------


@dataclass
class World:
    """The people, their browsers and the rows the route arguments point at."""

    people: dict[str, User]
    clients: dict[str, FlaskClient]
    values: dict[str, str]

    def sign_in_again(self, role: str) -> None:
        self.clients[role] = self.clients[role].application.test_client()
        if role in self.people:
            login(self.clients[role], self.people[role].email)


def _small_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 40, 40)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def world(make_client, make_user, make_category, make_feedback) -> World:
    people = {
        "customer": make_user(),
        "other": make_user(),
        "staff": make_user(role=Role.STAFF),
        "admin": make_user(role=Role.ADMIN),
    }
    target = make_user()
    category = make_category()
    item = make_feedback(
        author=people["customer"],
        category=category,
        title=SECRET_TITLE,
        body=SECRET_BODY,
        visibility=Visibility.PRIVATE,
    )
    # The customer's own comment, theirs to edit until staff answer.
    own_comment = feedback_service.add_comment(people["customer"], item.id, "Still swinging.")
    # Resolved, so "Did this fix it?" has something to answer.
    resolution = workflow.resolve(
        item.id,
        people["staff"],
        "We fixed the latch.",
        "A gate that would not stay shut",
        post_anyway=True,
    )
    comment = workflow.add_internal_note(item.id, people["admin"], "Staff-only context")
    photo = attachments.upload_image(people["customer"], _small_png())
    attachments.attach_uploads(people["customer"], item, None, [photo.public_id])
    subscription = digests.subscribe("reader@example.com", "weekly", [], user=None).subscription
    regular = digests.subscribe("regular@example.com", "weekly", [], user=None).subscription
    digests.confirm(regular.confirm_token)  # only a confirmed subscription has changes to confirm
    api_token = api_tokens.create_token(people["admin"], name="Shop till", scope="read")
    contact, _ = customer_for_email("contact@example.com", "Made by the API")
    invitation = invitations.invite(people["admin"], email="newstaff@example.com", role="staff")
    invitation_token = make_invitation_token(invitation.id, "the sweep's secret")
    invitation.secret_hash = hash_secret("the sweep's secret")
    hook = webhooks.create_endpoint(
        people["admin"], url="https://hooks.example.com/portal", events=["item.created"]
    )
    ping = webhooks.send_ping(people["admin"], hook.endpoint.id)
    channel = chat.create_channel(
        people["admin"],
        name="#ops",
        kind="slack",
        url="https://hooks.example.com/chat",
        events=["new_item"],
    )
    chat_test = chat.send_test(people["admin"], channel.id)
    logo = branding.set_logo(people["admin"], _small_png()).logo_key
    # GitHub's kind has no discovery document to fetch.
    provider = identity_providers.create_provider(
        people["admin"],
        key="github",
        name="GitHub",
        kind="github",
        discovery_url="",
        client_id="sweep-client",
        client_secret="sweep-secret",
    )
    customer = people["customer"]
    # The customer's session in another browser: theirs to end, and nobody else's.
    elsewhere = start_session(customer, "Another browser")
    db.session.commit()
    values = {
        "item_id": str(item.id),
        "comment_id": str(comment.id),
        # Arguments of one route that differ from the others' ("endpoint:argument").
        "feedback.edit_comment:comment_id": str(own_comment.id),
        "public_id": photo.public_id,
        "category_id": str(category.id),
        "user_id": str(target.id),
        "email": customer.email,
        "resolution_id": str(resolution.id),
        "slug": category.slug,
        "key": str(logo),
        "colour": "1d5c63",
        "filename": "css/site.css",
        "code": "en",
        "token_id": str(api_token.token.id),
        "endpoint_id": str(hook.endpoint.id),
        "delivery_id": str(ping.id),
        "channel_id": str(channel.id),
        "message_id": str(chat_test.id),
        "session_id": elsewhere.id,
        "identity_id": "999999",  # nobody's: a refusal, whoever asks
        "invitation_id": str(invitation.id),
        "provider_id": str(provider.id),
        "accounts.accept_invitation": invitation_token,
        "accounts.verify": make_verify_token(customer.id, customer.email),
        "accounts.reset_password": make_reset_token(customer.id, customer.password_hash),
        "accounts.claim": make_claim_token(contact.id, contact.email, contact.password_hash),
        "accounts.finish_registration": make_registration_token(
            "newcomer@example.com", "Noor", "Noor", hash_password("a long enough password"), ""
        ),
        # For a person of no role in the sweep: following these signs them in, or moves them.
        "accounts.sign_in_link": make_sign_in_token(target.id, target.email, ""),
        "accounts.confirm_email_change": make_email_change_token(
            target.id, target.email, "moved@example.com"
        ),
        "digests.confirm": subscription.confirm_token,
        "digests.change": make_digest_change_token(
            regular.id, regular.email, regular.confirm_token, "monthly", []
        ),
        "digests.unsubscribe": subscription.unsubscribe_token,
        "digests.subscription": make_digest_subscription_token(regular.id, regular.confirm_token),
        "notifications.unsubscribe": make_unsubscribe_token(customer.id, item.id),
    }
    clients = {role: make_client() for role in ROLES}
    for role, person in people.items():
        login(clients[role], person.email)
    return World(people, clients, values)


def _url(rule: Rule, values: dict[str, str], *, bad_token: bool = False) -> str:
    url = rule.rule
    for argument in rule.arguments:
        value = (
            values.get(rule.endpoint)
            if argument == "token"
            else values.get(f"{rule.endpoint}:{argument}", values.get(argument))
        )
        if argument == "token" and bad_token:
            value = "not-a-real-token"
        assert value is not None, f"no value for <{argument}> in {rule.rule}"
        url = url.replace(f"<{argument}>", value)
        url = url.replace(f"<int:{argument}>", value).replace(f"<path:{argument}>", value)
    assert "<" not in url, f"unfilled argument in {rule.rule}"
    return url


def _is_sign_in(response: TestResponse) -> bool:
    return (
        response.status_code == 302
        and urlsplit(response.headers["Location"]).path == "/account/login"
    )


# Form data for POSTs that would otherwise stop at the form check before the rule under test.
SWEEP_DATA = {"feedback.not_fixed": {"body": "The gate still swings open."}}
# Keyed by the client itself, weakly: keyed by id(), a client made in a later test could reuse
# a dead one's id and post its stale token (a 400 from CSRF, seen once in a full run).
_tokens: weakref.WeakKeyDictionary[FlaskClient, str] = weakref.WeakKeyDictionary()


def _request(client: FlaskClient, method: str, url: str, endpoint: str = "") -> TestResponse:
    if method == "GET":
        response = client.get(url)
    else:
        if client not in _tokens:
            _tokens[client] = csrf_token(client)
        data = {"csrf_token": _tokens[client], **SWEEP_DATA.get(endpoint, {})}
        response = client.post(url, data=data)
    response.get_data()  # read, then close: static files are streamed from an open file
    response.close()
    return response


def _problem(endpoint: str, role: str, response: TestResponse) -> str | None:
    """What is wrong with this answer for this person, or None."""
    kind = ACCESS[endpoint]
    status = response.status_code
    if status >= 500:
        return "the page broke"
    if kind == API_WRITE:
        return None if status == 401 else "expected 401 without an API token"
    if kind == API:
        expected = 404 if endpoint in API_ITEM_ROUTES else 200
        return None if status == expected else f"expected {expected}"
    if role == "visitor" and kind in (SIGNED_IN, AUTHOR, CUSTOMER, STAFF, ADMIN):
        return None if _is_sign_in(response) else "expected a redirect to sign in"
    if role in ("visitor", "other") and endpoint in ITEM_ROUTES:
        return None if status == 404 else "expected 404: the item is private"
    if _is_sign_in(response) and kind != PUBLIC and endpoint not in SESSION_ENDING:
        return "a signed-in person was sent to sign in"
    refused = status == 403
    if kind == STAFF:
        must_refuse = role in ("customer", "other")
    elif kind == ADMIN:
        must_refuse = role in ("customer", "other", "staff")
    elif kind in (AUTHOR, CUSTOMER):
        must_refuse = role in ("staff", "admin")
    else:
        must_refuse = False
    if must_refuse and not refused:
        return "expected 403"
    if refused and not must_refuse:
        return "refused with 403"
    if status == 409 and endpoint in STATE_BOUND:
        return None
    if not must_refuse and status not in (200, 302, 400):
        return "expected 200, 302 or 400"
    return None


def _sweep(app: Flask, world: World) -> Iterator[tuple[Rule, str]]:
    rules = sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint in SESSION_ENDING, r.rule))
    for rule in rules:
        for method in sorted({"GET", "POST"} & set(rule.methods or ())):
            yield rule, method


def test_every_route_answers_each_kind_of_person_as_its_class_says(
    app: Flask, world: World
) -> None:
    failures: list[str] = []
    checked = 0
    for rule, method in _sweep(app, world):
        url = _url(rule, world.values)
        for role in ROLES:
            response = _request(world.clients[role], method, url, rule.endpoint)
            checked += 1
            problem = _problem(rule.endpoint, role, response)
            if problem:
                failures.append(
                    f"{role} {method} {url} ({rule.endpoint}, {ACCESS[rule.endpoint]}) "
                    f"-> {response.status_code}: {problem}"
                )
            body = response.get_data().decode(errors="replace")  # an image is bytes
            if response.status_code in (403, 404) and (SECRET_TITLE in body or SECRET_BODY in body):
                failures.append(f"{role} {method} {url}: the refusal shows the private item")
            if rule.endpoint in SESSION_CHANGING:
                world.sign_in_again(role)
    assert checked >= len(ACCESS) * len(ROLES)
    assert not failures, "\n".join(failures)


def test_a_wrong_token_is_refused_without_an_error(app: Flask, world: World) -> None:
    failures = []
    for rule, method in _sweep(app, world):
        if ACCESS[rule.endpoint] != TOKEN:
            continue
        url = _url(rule, world.values, bad_token=True)
        for role in ("visitor", "customer"):
            client = world.clients[role]
            response = _request(client, method, url)
            if response.status_code not in (302, 404):
                failures.append(f"{role} {method} {url} -> {response.status_code}")
            elif response.status_code == 302:
                page = client.get(response.headers["Location"]).get_data(as_text=True)
                if "expired" not in page and "not valid" not in page:
                    failures.append(f"{role} {method} {url}: redirected without saying why")
    assert not failures, "\n".join(failures)


def test_account_pages_send_visitors_to_sign_in_and_back_to_the_same_page(app: Flask) -> None:
    client = app.test_client()
    account_rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/account")]
    checked = 0
    for rule in account_rules:
        if ACCESS[rule.endpoint] != SIGNED_IN or "GET" not in (rule.methods or ()):
            continue
        response = client.get(rule.rule)
        assert _is_sign_in(response), f"GET {rule.rule} -> {response.status_code}"
        location = urlsplit(response.headers["Location"])
        assert location.netloc in ("", "localhost"), location
        (target,) = parse_qs(location.query)["next"]
        assert is_safe_next(target), f"GET {rule.rule}: next={target!r} leaves the site"
        assert urlsplit(target).path == rule.rule
        checked += 1
    assert checked >= 4


def test_admin_pages_are_refused_to_staff(app: Flask, make_client, make_user) -> None:
    staff = make_user(role=Role.STAFF)
    client = make_client()
    login(client, staff.email)
    for path in ("/admin/categories", "/admin/users", "/admin/settings", "/admin/audit"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "That page is not for you" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 200


# Private items ------------------------------------------------------------------------------


@pytest.fixture
def private_item(world: World) -> Feedback:
    return db.session.get(Feedback, int(world.values["item_id"]))


def _public_pages(item: Feedback) -> list[str]:
    slug = db.session.get(Category, item.category_id).slug
    return [
        "/",
        "/?sort=new",
        "/?state=resolved",
        f"/?category={slug}",
        f"/?q={SECRET_WORD}",
        f"/?q={SECRET_WORD}+gate&sort=new",
        "/?q=wallaby keeper",
        "/?sort=trending",
        "/?sort=answered",
        "/roadmap",
        f"/roadmap?category={slug}",
        "/roadmap.atom",
        f"/roadmap.atom?category={slug}",
        "/you-said-we-did",
        f"/you-said-we-did?category={slug}",
        f"/you-said-we-did/{item.resolution_id}",
        "/feeds/resolutions.atom",
        "/feeds/resolutions.rss",
        f"/feeds/categories/{slug}.atom",
        f"/feedback/suggest?title={SECRET_WORD}+enclosure+gate",
        "/digest/subscribe",
        "/how-we-are-doing",
    ]


PUBLIC_TITLE = "Quokka feeding times are far too early"
SECOND_SECRET = "Quokka keeper shouted at my daughter"


def test_a_private_item_shows_on_no_public_page(
    world: World, private_item: Feedback, make_feedback
) -> None:
    # A public item and a second private one, resolved together as one theme.
    category = db.session.get(Category, private_item.category_id)
    public = make_feedback(author=world.people["other"], category=category, title=PUBLIC_TITLE)
    second = make_feedback(
        author=world.people["customer"],
        category=category,
        title=SECOND_SECRET,
        visibility=Visibility.PRIVATE,
    )
    staff = db.session.get(User, world.people["staff"].id)
    resolve_together([second, public], staff, "We moved feeding to ten o'clock.")
    db.session.commit()
    visitor = world.clients["visitor"]
    for path in (
        "/",
        f"/?q={SECRET_WORD}",
        "/?sort=answered",
        "/roadmap",
        "/roadmap.atom",
        "/you-said-we-did",
        "/feeds/resolutions.atom",
    ):
        assert PUBLIC_TITLE in visitor.get(path).get_data(as_text=True), path
    failures = []
    for role in ("visitor", "other"):
        client = world.clients[role]
        pages = _public_pages(private_item)
        if role == "other":
            pages += [
                "/account/",
                "/account/export",
                f"/feedback/new?title={SECRET_WORD}+enclosure+gate&body=x",
            ]
        for path in pages:
            for headers in ({}, {"HX-Request": "true"}):
                response = client.get(path, headers=headers)
                body = response.get_data(as_text=True)
                if response.status_code != 200:
                    failures.append(f"{role} GET {path} -> {response.status_code}")
                secrets = (SECRET_TITLE, SECRET_BODY, SECOND_SECRET, f'/feedback/{second.id}"')
                for secret in (*secrets, f'/feedback/{private_item.id}"'):
                    if secret in body:
                        failures.append(f"{role} GET {path} {headers}: shows {secret!r}")
        detail = client.get(f"/feedback/{private_item.id}")
        assert detail.status_code == 404, f"{role} can open the private item"
        assert SECRET_TITLE not in detail.get_data(as_text=True)
    assert not failures, "\n".join(failures)


def test_a_private_item_is_open_to_its_author_and_staff_only(
    world: World, private_item: Feedback
) -> None:
    for role in ("customer", "staff", "admin"):
        response = world.clients[role].get(f"/feedback/{private_item.id}")
        assert response.status_code == 200, role
        assert SECRET_TITLE in response.get_data(as_text=True)
    mine = world.clients["customer"].get("/account/").get_data(as_text=True)
    assert SECRET_TITLE in mine
    # Staff search private items too.
    queue = world.clients["staff"].get(f"/admin/?q={SECRET_WORD}&all=1").get_data(as_text=True)
    assert SECRET_TITLE in queue
    for role in ("visitor", "other"):
        assert world.clients[role].get(f"/feedback/{private_item.id}").status_code == 404


def test_a_public_report_is_never_merged_into_a_private_one(
    world: World, make_feedback, private_item: Feedback
) -> None:
    """Everyone who spoke up on a merged report follows its target and is emailed its title,
    so a public report is never merged into a private one (it once was, and the emails named
    the private item and linked to a page its readers could not open)."""
    admin = world.people["admin"]
    target = make_feedback(
        author=world.people["customer"],
        category=db.session.get(Category, private_item.category_id),
        title="Wombat burrow under the fence by my flat",
        body=SECRET_BODY,
        visibility=Visibility.PRIVATE,
    )
    duplicate = make_feedback(
        author=world.people["other"], category=db.session.get(Category, private_item.category_id)
    )
    with pytest.raises(WorkflowError, match="is private"):
        workflow.merge(
            duplicate.id,
            admin,
            target.id,
            "Thank you, this is the same as another report.",
            post_anyway=True,
        )
    db.session.rollback()
    for role in ("visitor", "other"):
        body = world.clients[role].get(f"/feedback/{duplicate.id}").get_data(as_text=True)
        assert "Wombat burrow" not in body, f"{role} sees the private item's title"
