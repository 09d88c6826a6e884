"""Outgoing webhooks: admins register endpoints; events queue signed JSON deliveries in the same
transaction as their cause; the outbox deliverers send them with retries and log every attempt.

Signing: each request carries `X-Portal-Timestamp` (Unix seconds) and `X-Portal-Signature:
sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the endpoint's secret>`.

Safety: only https URLs (plain http where WEBHOOK_ALLOW_HTTP is on), and never an address that is
not globally routable (loopback, private, link-local..., also inside IPv6: see addresses.py)
unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES is on or the host is one of PORTAL_TRUSTED_PRIVATE_HOSTS.
The check runs on the addresses the name resolves to at delivery time, and the connection is
made to the address that was checked, so DNS cannot swap in another one in between (requests and
httpx resolve names themselves, which is why this uses http.client). Redirects are not followed.
"""

from __future__ import annotations

import hmac
import http.client
import json
import secrets
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from portal.database import rows_changed
from portal.extensions import db
from portal.models import (
    SUBSCRIBABLE_EVENTS,
    Feedback,
    FeedbackState,
    Resolution,
    User,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    WebhookEvent,
)
from portal.services import addresses, attachments, environment, pinned_http
from portal.services import events as domain_events  # here `events` are webhook events
from portal.services.admin import require_active_admin
from portal.services.errors import DomainError, NotFound
from portal.services.item_data import image_data, iso, webhook_item, you_said_shown
from portal.services.outbox import DeliveryReport, backoff_seconds, claim_due, mark_claimed
from portal.services.visibility import is_public, words_withheld
from portal.services.wording import Text, t

USER_AGENT = "portal-webhooks/1"
SIGNATURE_HEADER = "X-Portal-Signature"
MAX_URL_LENGTH = 2000
# What of a receiver's answer is kept in the attempt log.
RESPONSE_EXCERPT = 300


class WebhookUrlRefused(DomainError):
    """The URL is not one the portal will send to."""

    status_code = 422


class DeliveryRefused(Exception):
    """A delivery that must not be attempted (an address the configuration forbids)."""


def _now() -> datetime:
    return datetime.now(UTC)


def _require_admin(actor: User) -> None:
    require_active_admin(actor, t("Only admins manage webhooks."))


# Addresses ---------------------------------------------------------------------------------


def _address_allowed(host: str, address: str) -> bool:
    """Whether a delivery for this host may go to this address: a public one, unless the host
    is one the operator trusts to be private (or private addresses are allowed at all)."""
    settings = environment.current().settings
    if settings.webhook_allow_private_addresses:
        return True
    if addresses.is_trusted_host(host, settings.trusted_private_hosts):
        return True
    return addresses.is_public(address)


@dataclass(frozen=True)
class UrlWords:
    """What a refused receiver URL is told, in the words of the page it was typed on (a
    webhook's receiver, a chat room's incoming webhook); the rule is the same."""

    empty: Text
    unreadable: Text
    credentials: Text
    port: Text
    internal: Text


WEBHOOK_URL_WORDS = UrlWords(
    empty=t("Enter the receiver's URL (up to 2,000 characters)."),
    unreadable=t("That is not a URL the portal can send to."),
    credentials=t("Leave passwords out of the URL: deliveries are signed instead."),
    port=t("That port cannot receive deliveries."),
    internal=t("Deliveries go only to public addresses, not to internal ones."),
)


def check_receiver_url(url: str, refused: Callable[[Text], DomainError], words: UrlWords) -> str:
    """The URL, trimmed, if the portal may POST to it; `refused(words…)` raised otherwise.
    Only https (plain http where WEBHOOK_ALLOW_HTTP is on, for development), no credentials,
    never an internal address unless the operator trusts its host. (Names are resolved and
    checked again at every delivery.)"""
    url = url.strip()
    if not url or len(url) > MAX_URL_LENGTH:
        raise refused(words.empty)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise refused(words.unreadable) from exc
    settings = environment.current().settings
    allow_http = settings.webhook_allow_http
    if parts.scheme not in ({"https", "http"} if allow_http else {"https"}):
        raise refused(
            t("Use an https:// URL.") if not allow_http else t("Use an http:// or https:// URL.")
        )
    if not parts.hostname:
        raise refused(t("The URL needs a host name."))
    if parts.username or parts.password:
        raise refused(words.credentials)
    if port == 0:
        raise refused(words.port)
    host = parts.hostname
    literal = addresses.parse_address(host)
    private_name = host == "localhost" or host.endswith((".localhost", ".local", ".internal"))
    if literal is not None:
        internal = not _address_allowed(host, str(literal))
    else:
        internal = private_name and not (
            settings.webhook_allow_private_addresses
            or addresses.is_trusted_host(host, settings.trusted_private_hosts)
        )
    if internal:
        raise refused(words.internal)
    return url


def check_url(url: str) -> str:
    """A webhook receiver's URL, trimmed, if the portal may register it; WebhookUrlRefused
    otherwise (check_receiver_url)."""
    return check_receiver_url(url, WebhookUrlRefused, WEBHOOK_URL_WORDS)


def _resolve(host: str, port: int) -> str:
    """The first address the name resolves to, if every one of them is allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve {host}: {exc.strerror}") from exc
    # An IPv6 sockaddr also carries flow and scope ids; the address is its first item.
    addresses_found = [str(info[4][0]) for info in infos]
    # All, not any: a name that also points inside must not be usable to reach inside.
    refused = [a for a in addresses_found if not _address_allowed(host, a)]
    if refused:
        raise DeliveryRefused(f"{host} resolves to a non-public address ({refused[0]})")
    return addresses_found[0]


@dataclass(frozen=True)
class PostResult:
    """What one attempt got back."""

    status_code: int | None
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> PostResult:
    started = time.monotonic()

    def elapsed() -> int:
        return round((time.monotonic() - started) * 1000)

    parts = urlsplit(url)
    https = parts.scheme == "https"
    if not https and not environment.current().settings.webhook_allow_http:
        return PostResult(None, "refused: plain http is not allowed here", elapsed())
    port = parts.port or (443 if https else 80)
    connection: http.client.HTTPConnection | None = None
    try:
        address = _resolve(parts.hostname or "", port)
        connection = pinned_http.connection(https, parts.hostname or "", port, address, timeout)
        path = parts.path or "/"
        if parts.query:
            path = f"{path}?{parts.query}"
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(RESPONSE_EXCERPT).decode("utf-8", "replace").strip()
        error = "" if 200 <= response.status < 300 else f"HTTP {response.status} {excerpt}"
        return PostResult(response.status, error.strip()[:1000], elapsed())
    except DeliveryRefused as exc:
        return PostResult(None, f"refused: {exc}", elapsed())
    except TimeoutError:
        return PostResult(None, f"timed out after {timeout:g} s", elapsed())
    except (OSError, http.client.HTTPException) as exc:
        return PostResult(None, f"{type(exc).__name__}: {exc}"[:1000], elapsed())
    finally:
        if connection is not None:
            connection.close()


def post_json(url: str, body: bytes, headers: dict[str, str], timeout: float) -> PostResult:
    """One POST as deliveries make it (every address the name resolves to checked, the
    connection pinned to one, no redirects): chat notifications are sent through it too."""
    return _post(url, body, headers, timeout)


def address_allowed(host: str, address: str) -> bool:
    """Whether the portal may call this address for this host (chat channels ask too)."""
    return _address_allowed(host, address)


# Endpoints (admin) -------------------------------------------------------------------------


@dataclass(frozen=True)
class NewSecret:
    """An endpoint with the secret just made for it (shown to the admin this once)."""

    endpoint: WebhookEndpoint
    secret: str


def _new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _clean_events(events: Iterable[str]) -> list[str]:
    allowed = {e.value for e in SUBSCRIBABLE_EVENTS}
    chosen = [e for e in dict.fromkeys(events) if e in allowed]
    if not chosen:
        raise DomainError(t("Choose at least one event to send."))
    return chosen


def _clean_description(description: str) -> str:
    return " ".join(description.split())[:200]


def create_endpoint(
    actor: User, *, url: str, events: Iterable[str], description: str = ""
) -> NewSecret:
    """Register a receiver for some events; its signing secret is returned once."""
    _require_admin(actor)
    checked_url = check_url(url)
    twin = db.session.scalar(
        sa.select(WebhookEndpoint.id).where(
            WebhookEndpoint.url == checked_url, WebhookEndpoint.deleted_at.is_(None)
        )
    )
    if twin is not None:
        # Two receivers at one address would get every event twice (a reloaded "created"
        # page posts the form again).
        raise DomainError(
            t(
                "Webhook #%(id)d already sends to this address: it is in the list below. To "
                "send other events there, change them on its page.",
                id=twin,
            )
        )
    secret = _new_secret()
    endpoint = WebhookEndpoint(
        url=checked_url,
        description=_clean_description(description),
        events=_clean_events(events),
        secret=secret,
        created_by_id=actor.id,
    )
    db.session.add(endpoint)
    db.session.flush()
    domain_events.emit(domain_events.WebhookEndpointCreated(endpoint, actor))
    return NewSecret(endpoint, secret)


def get_endpoint(endpoint_id: int) -> WebhookEndpoint:
    """A registered (not deleted) endpoint, or NotFound."""
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.deleted_at is not None:
        raise NotFound(t("There is no such webhook."))
    return endpoint


def list_endpoints() -> list[WebhookEndpoint]:
    """Every registered endpoint, oldest first."""
    return list(
        db.session.scalars(
            sa.select(WebhookEndpoint)
            .where(WebhookEndpoint.deleted_at.is_(None))
            .order_by(WebhookEndpoint.id)
        )
    )


def set_active(actor: User, endpoint_id: int, active: bool) -> WebhookEndpoint:
    """Pause or resume an endpoint. While paused, new events are not queued for it (those
    already queued still go out)."""
    _require_admin(actor)
    endpoint = get_endpoint(endpoint_id)
    endpoint.active = active
    domain_events.emit(domain_events.WebhookEndpointActiveChanged(endpoint, actor, active))
    db.session.flush()
    return endpoint


def change_endpoint(
    actor: User, endpoint_id: int, *, events: Iterable[str], description: str
) -> WebhookEndpoint:
    """Change which events an endpoint gets, and its description. Its address and secret stay,
    so the receiver needs no change; deliveries already queued still go out. Audited with what
    it was before, when anything changed."""
    _require_admin(actor)
    endpoint = get_endpoint(endpoint_id)
    events_before, description_before = list(endpoint.events), endpoint.description
    new_events, new_description = _clean_events(events), _clean_description(description)
    if (new_events, new_description) == (events_before, description_before):
        return endpoint
    endpoint.events = new_events
    endpoint.description = new_description
    domain_events.emit(
        domain_events.WebhookEndpointChanged(endpoint, actor, events_before, description_before)
    )
    db.session.flush()
    return endpoint


def rotate_secret(actor: User, endpoint_id: int) -> NewSecret:
    """Give an endpoint a new secret; deliveries signed from now on use it."""
    _require_admin(actor)
    endpoint = get_endpoint(endpoint_id)
    endpoint.secret = _new_secret()
    domain_events.emit(domain_events.WebhookSecretRotated(endpoint, actor))
    db.session.flush()
    return NewSecret(endpoint, endpoint.secret)


def delete_endpoint(actor: User, endpoint_id: int) -> None:
    """Remove an endpoint. Its undelivered deliveries are given up; the log stays."""
    _require_admin(actor)
    endpoint = get_endpoint(endpoint_id)
    endpoint.deleted_at = _now()
    endpoint.active = False
    give_up_waiting(
        WebhookDelivery.endpoint_id == endpoint.id,
        WebhookDelivery.status,
        pending=WebhookDeliveryStatus.PENDING,
        failed=WebhookDeliveryStatus.FAILED,
        reason="endpoint deleted",
    )
    domain_events.emit(domain_events.WebhookEndpointDeleted(endpoint, actor))
    db.session.flush()


@dataclass(frozen=True)
class DeliveryLog:
    """A delivery with its attempts, newest attempt last."""

    delivery: WebhookDelivery
    attempts: list[WebhookAttempt]


def recent_deliveries(endpoint: WebhookEndpoint, limit: int = 50) -> list[DeliveryLog]:
    """The endpoint's latest deliveries, newest first, each with every attempt (two queries)."""
    deliveries = list(
        db.session.scalars(
            sa.select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint.id)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
            .limit(limit)
        )
    )
    attempts: dict[int, list[WebhookAttempt]] = {d.id: [] for d in deliveries}
    if deliveries:
        for attempt in db.session.scalars(
            sa.select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(list(attempts)))
            .order_by(WebhookAttempt.attempted_at, WebhookAttempt.id)
        ):
            attempts[attempt.delivery_id].append(attempt)
    return [DeliveryLog(d, attempts[d.id]) for d in deliveries]


# Events ------------------------------------------------------------------------------------


def _queue(
    endpoints: Sequence[WebhookEndpoint], event: WebhookEvent, data: dict[str, Any]
) -> list[WebhookDelivery]:
    deliveries = []
    for endpoint in endpoints:
        uid = str(uuid.uuid4())
        body = {"id": uid, "event": event.value, "created_at": _now().isoformat(), "data": data}
        deliveries.append(
            WebhookDelivery(
                delivery_uid=uid,
                endpoint_id=endpoint.id,
                event=event.value,
                # Stored as the exact bytes to send, so every retry carries the same body.
                body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
            )
        )
    if deliveries:
        db.session.add_all(deliveries)
        db.session.flush()
        # Wakes the after-commit deliverer, as queued email does.
        db.session.info["outbox_pending"] = True
    return deliveries


def emit(event: WebhookEvent, data: dict[str, Any]) -> int:
    """Queue the event for every endpoint that wants it, in the caller's transaction."""
    endpoints = [e for e in list_endpoints() if e.wants(event.value)]
    return len(_queue(endpoints, event, data))


def item_json(item: Feedback) -> dict[str, Any]:
    """An item as webhooks describe it (see item_data.webhook_item: no words of a private,
    hidden or redacted item; staff follow `admin_url` to read them)."""
    presenter = environment.current().presenter
    shown = attachments.shown_on_items([item], None)[item.id] if is_public(item) else []
    return webhook_item(
        item,
        url=presenter.url("feedback.detail", item_id=item.id),
        admin_url=presenter.url("admin.item", item_id=item.id),
        images=[
            image_data(
                image,
                url=presenter.url("attachments.image", public_id=image.public_id),
                thumbnail_url=presenter.url("attachments.thumbnail", public_id=image.public_id),
            )
            for image in shown
        ],
    )


def resolution_json(resolution: Resolution, items: Sequence[Feedback]) -> dict[str, Any]:
    """A published "we did" as webhooks describe it, as on the public board. Its "you said"
    is withheld when it is the title of one of its items whose words staff withheld."""
    return {
        "id": resolution.id,
        "you_said": you_said_shown(
            resolution.you_said, [item.title for item in items if words_withheld(item)]
        ),
        "we_did": resolution.we_did_source,
        "category_id": resolution.category_id,
        "published_at": iso(resolution.published_at),
        "url": environment.current().presenter.url(
            "resolutions.detail", resolution_id=resolution.id
        ),
    }


def item_created(item: Feedback) -> int:
    """item.created: a new item, from any channel."""
    return emit(WebhookEvent.ITEM_CREATED, {"item": item_json(item)})


def item_state_changed(
    item: Feedback, from_state: FeedbackState, to_state: FeedbackState, message: str
) -> int:
    """item.state_changed: the move and its public message (public items only carry it)."""
    data: dict[str, Any] = {
        "item": item_json(item),
        "from_state": from_state.value,
        "to_state": to_state.value,
    }
    if is_public(item):
        data["message"] = message
    return emit(WebhookEvent.ITEM_STATE_CHANGED, data)


def item_edited(item: Feedback) -> int:
    """item.edited: the author changed the title or text; the item as it reads now (no words
    of a private, hidden or redacted item, as for item.created)."""
    return emit(
        WebhookEvent.ITEM_EDITED, {"item": item_json(item), "edited_at": iso(item.edited_at)}
    )


def resolution_published(resolution: Resolution, items: Sequence[Feedback]) -> int:
    """resolution.published: the "we did", as on the public board, and the items it answers."""
    return emit(
        WebhookEvent.RESOLUTION_PUBLISHED,
        {
            "resolution": resolution_json(resolution, items),
            "item_ids": [item.id for item in items],
        },
    )


def send_ping(actor: User, endpoint_id: int) -> WebhookDelivery:
    """Queue a test delivery to one endpoint, so an admin can check the receiver."""
    _require_admin(actor)
    endpoint = get_endpoint(endpoint_id)
    (delivery,) = _queue(
        [endpoint], WebhookEvent.PING, {"message": "A test delivery from the portal."}
    )
    domain_events.emit(domain_events.WebhookPinged(endpoint, actor, delivery))
    return delivery


def send_again(actor: User, endpoint_id: int, delivery_id: int) -> None:
    """Queue a delivery that was given up for a fresh round of attempts, with the same body
    and delivery id (so a receiver that got it after all can tell). For when the receiver
    is fixed: the log keeps the attempts that failed."""
    _require_admin(actor)
    endpoint = get_endpoint(endpoint_id)  # a deleted endpoint is NotFound there
    requeued = db.session.execute(
        sa.update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.endpoint_id == endpoint.id,
            # Only one that was given up: a second click, or a delivery under way, is left be.
            WebhookDelivery.status == WebhookDeliveryStatus.FAILED,
        )
        .values(
            status=WebhookDeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=_now(),
            claim_token=None,
            claimed_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    if not rows_changed(requeued):
        raise DomainError(
            t("That delivery is already queued or delivered: reload to see where it is.")
        )
    domain_events.emit(domain_events.WebhookDeliverySentAgain(endpoint, actor, delivery_id))
    # Sent at once after the commit, as a new event's deliveries are.
    db.session.info["outbox_pending"] = True


# Delivery ----------------------------------------------------------------------------------


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value: sha256=<hex HMAC of "<timestamp>.<body>">."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, "sha256")
    return "sha256=" + mac.hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """What a receiver does (kept here for tests and as the README's reference)."""
    return hmac.compare_digest(sign(secret, timestamp, body), header)


def _attempt(delivery: WebhookDelivery, endpoint: WebhookEndpoint) -> PostResult:
    body = delivery.body.encode("utf-8")
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Portal-Delivery": delivery.delivery_uid,
        "X-Portal-Event": delivery.event,
        "X-Portal-Timestamp": timestamp,
        SIGNATURE_HEADER: sign(endpoint.secret, timestamp, body),
    }
    return _post(
        endpoint.url, body, headers, environment.current().settings.webhook_timeout_seconds
    )


def give_up_waiting(
    whose: sa.ColumnElement[bool], status: Any, *, pending: Any, failed: Any, reason: str
) -> None:
    """Give up the claimed-row posts still waiting for a receiver that is gone (a deleted
    webhook endpoint, a removed chat channel): `whose` picks them, `status` is their column."""
    table = status.class_
    db.session.execute(
        sa.update(table)
        .where(whose, status == pending)
        .values(status=failed, last_error=reason)
        .execution_options(synchronize_session=False)
    )


def give_up_or_retry(
    model: Any,
    row: Any,
    token: str,
    result: PostResult,
    report: DeliveryReport,
    *,
    failed: Any,
    pending: Any,
    what: str,
    permanent: bool = False,
) -> None:
    """After a failed POST of a claimed row (a webhook delivery, a chat message): retry later
    with backoff, or give up once the attempts are spent, the address was refused, or the
    receiver's answer is `permanent`. `what` names the row in the log ("webhooks: delivery")."""
    current = environment.current()
    attempts = row.attempts + 1
    common = {"attempts": attempts, "last_status_code": result.status_code}
    if (
        attempts >= current.settings.webhook_max_attempts
        or result.error.startswith("refused:")
        or permanent
    ):
        mark_claimed(model, row.id, token, status=failed, last_error=result.error, **common)
        report.failed += 1
        current.log.error("%s %s: gave up: %s", what, row.id, result.error)
        return
    delay = backoff_seconds(current.settings.webhook_backoff_seconds, attempts)
    mark_claimed(
        model,
        row.id,
        token,
        status=pending,
        last_error=result.error,
        next_attempt_at=_now() + timedelta(seconds=delay),
        claim_token=None,
        claimed_at=None,
        **common,
    )
    report.retried += 1
    current.log.warning("%s %s will be retried in %ss: %s", what, row.id, delay, result.error)


def deliver_webhooks(batch_size: int = 20, max_batches: int = 50) -> DeliveryReport:
    """Send the deliveries that are due, claimed a batch at a time like the email outbox
    (several deliverers never send one delivery twice in normal running). Commits as it goes."""
    report = DeliveryReport()
    for _ in range(max_batches):
        token, batch = claim_due(
            WebhookDelivery,
            pending=WebhookDeliveryStatus.PENDING,
            sending=WebhookDeliveryStatus.SENDING,
            limit=batch_size,
            # A paused endpoint's queued deliveries wait; resuming sends them, in order.
            only=WebhookDelivery.endpoint_id.in_(
                sa.select(WebhookEndpoint.id)
                .where(WebhookEndpoint.active.is_(True))
                .scalar_subquery()
            ),
        )
        if not batch:
            break
        endpoints = {
            e.id: e
            for e in db.session.scalars(
                sa.select(WebhookEndpoint).where(
                    WebhookEndpoint.id.in_({d.endpoint_id for d in batch})
                )
            )
        }
        for delivery in batch:
            endpoint = endpoints[delivery.endpoint_id]
            if endpoint.deleted_at is not None:
                result = PostResult(None, "refused: the endpoint was deleted", 0)
            else:
                result = _attempt(delivery, endpoint)
            # Committed with the result below: every attempt is in the admin's log.
            db.session.add(
                WebhookAttempt(
                    delivery_id=delivery.id,
                    status_code=result.status_code,
                    error=result.error,
                    duration_ms=result.duration_ms,
                )
            )
            if result.ok:
                mark_claimed(
                    WebhookDelivery,
                    delivery.id,
                    token,
                    status=WebhookDeliveryStatus.DELIVERED,
                    delivered_at=_now(),
                    attempts=delivery.attempts + 1,
                    last_status_code=result.status_code,
                    last_error="",
                )
                report.sent += 1
            else:
                give_up_or_retry(
                    WebhookDelivery,
                    delivery,
                    token,
                    result,
                    report,
                    failed=WebhookDeliveryStatus.FAILED,
                    pending=WebhookDeliveryStatus.PENDING,
                    what="webhooks: delivery",
                )
        if len(batch) < batch_size:
            break
    return report


def pending_count() -> int:
    """How many deliveries wait to be sent."""
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(WebhookDelivery)
            .where(
                WebhookDelivery.status.in_(
                    [WebhookDeliveryStatus.PENDING, WebhookDeliveryStatus.SENDING]
                )
            )
        )
        or 0
    )
