"""Email intake: one RFC 5322 message, as a mail server's pipe delivers it, becomes a private
item (or, for a reply to one of our notifications, a comment on its item).

What happens to a message, and the exit code the mail server sees (sendmail/Postfix pipe
conventions: 0 delivered, 65/67 bounce, 75 try again later):

- automatic mail (auto-replies, bounces, lists, our own messages): dropped with 0. RFC 3834
  asks that nothing answer automatic mail, and a bounce is an answer, so these are not bounced.
- malformed, empty, oversized, nested too deep or in too many parts, or anything else the
  parser cannot read: 65 (EX_DATAERR).
- a deactivated account, or staff replying by email (staff answer in the admin pages, where the
  tone check and ownership rules apply): 67 (EX_NOUSER).
- a message seen before (same Message-ID): 0, nothing new is created.
- a reply is a comment only when it proves which item and which person it answers: the
  plus-address of the notification's Reply-To (feedback+<item>.<token>@...) carries a token made
  for that item and that recipient's address, or the subject names the item (#123) and the
  message answers a Message-ID we sent that person about that item. Anything else from a reply,
  such as a forwarded notification answered by someone else, is recorded as a new private item
  from its sender, never as a comment on someone else's item: the fail-safe choice.
- images attached to a new item's message (JPEG, PNG, WebP, GIF: told by their bytes, never
  by the part's Content-Type or name) are kept on the item, through the same pipeline and
  rules as the site's form (at most five; re-encoded). Other files are not kept, nor an image
  the pipeline refuses, nor images past five; the receipt says which and why. A reply that
  becomes a comment keeps its images on the comment the same way (a comment by email gets no
  receipt: what was not kept is counted on its inbound_emails row).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage, Message, MIMEPart
from email.parser import BytesParser
from html.parser import HTMLParser
from typing import IO

import sqlalchemy as sa

from portal.extensions import db
from portal.models import (
    Category,
    FeedbackChannel,
    FeedbackKind,
    InboundEmail,
    OutboxMessage,
    User,
    Visibility,
)
from portal.models.base import utcnow
from portal.services import attachments, environment, events, images
from portal.services.accounts import find_user_by_email, normalise_email
from portal.services.api import AccountUnavailable, customer_for_email
from portal.services.errors import DomainError
from portal.services.feedback import add_comment, submit_feedback
from portal.services.tokens import REPLY_TOKEN_LENGTH, reply_token_matches
from portal.validation import clean_name

# sysexits.h, as Postfix's pipe(8) and local(8) read them.
EX_OK = 0
EX_DATAERR = 65
EX_NOUSER = 67
EX_TEMPFAIL = 75

# The most a message may hold. Real mail nests a few levels (a forward of a reply with an
# attachment); the standard library's parser and walkers recurse once per level, so a message
# nested thousands deep fails inside them.
MAX_NESTING = 20
MAX_PARTS = 500

TITLE_MAX = 160  # Feedback.title
BODY_MAX = 10_000  # the same limit as the web form
COMMENT_MAX = 5_000

AUTOMATIC_SENDERS = frozenset(
    {"mailer-daemon", "noreply", "no-reply", "no_reply", "donotreply", "do-not-reply"}
)
AUTOMATIC_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
# Headers whose mere presence marks a message as automatic.
AUTOMATIC_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress", "List-Id")

_REPLY_ADDRESS = re.compile(
    rf"^[^@+\s]+\+(\d{{1,10}})\.([0-9a-f]{{{REPLY_TOKEN_LENGTH}}})@", re.IGNORECASE
)
_SUBJECT_REFERENCE = re.compile(r"#(\d{1,10})\b")
_SUBJECT_PREFIX = re.compile(r"^\s*((re|fwd?|aw|wg|sv|vs|tr|antw)\s*(\[\d+\])?\s*:\s*)+", re.I)


@dataclass(frozen=True)
class IntakeResult:
    """What became of one message, with the exit code for the mail server."""

    outcome: str  # created, commented, duplicate, ignored, rejected
    exit_code: int
    reason: str
    item_id: int | None = None
    comment_id: int | None = None

    @property
    def changed(self) -> bool:
        """Whether something was written that the caller must commit."""
        return self.outcome in {"created", "commented"}


class Refused(Exception):
    """A message that must not be recorded, with the exit code saying how to refuse it."""

    def __init__(self, outcome: str, exit_code: int, reason: str) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.exit_code = exit_code
        self.reason = reason


def _reject(exit_code: int, reason: str) -> Refused:
    return Refused("rejected", exit_code, reason)


# Reading -----------------------------------------------------------------------------------


def max_bytes() -> int:
    """The size limit for one message (INTAKE_MAX_BYTES)."""
    return environment.current().settings.intake_max_bytes


def read_limited(stream: IO[bytes], limit: int | None = None) -> bytes:
    """Read a message from a stream, but never more than one byte past the limit (a message
    that long is refused anyway, and need not be held in memory)."""
    limit = max_bytes() if limit is None else limit
    return stream.read(limit + 1)


def parse_message(raw: bytes) -> EmailMessage:
    """Parse the bytes with the modern email policy; Refused when they are not a message."""
    if len(raw) > max_bytes():
        raise _reject(EX_DATAERR, f"message is larger than {max_bytes():,} bytes")
    # A pipe with Postfix's F flag (or an mbox) puts an envelope "From " line first.
    if raw.startswith(b"From "):
        raw = raw.split(b"\n", 1)[1] if b"\n" in raw else b""
    if not raw.strip():
        raise _reject(EX_DATAERR, "empty message")
    if b"\x00" in raw:
        raise _reject(EX_DATAERR, "malformed message: it contains NUL bytes")
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as exc:  # RecursionError on deep nesting, or any other parser failure
        raise _unreadable(exc) from exc
    if not isinstance(message, EmailMessage) or not message.keys():
        raise _reject(EX_DATAERR, "malformed message: no headers")
    parts = _parts_within_limits(message)
    try:
        # Headers are parsed when first read, and their parser recurses too (a From of a
        # thousand nested comments): read them all now, so a failure is a refusal here and not
        # an error later.
        for part in parts:
            for value in part.values():
                str(value)
    except Exception as exc:
        raise _unreadable(exc) from exc
    return message


def _unreadable(exc: BaseException) -> Refused:
    return _reject(
        EX_DATAERR, f"malformed message: the parser cannot read it ({type(exc).__name__})"
    )


def _parts_within_limits(message: EmailMessage) -> list[Message]:
    """Every part of the message, the message first; Refused when it nests deeper than
    MAX_NESTING multiparts or holds more than MAX_PARTS parts. Walked without recursion."""
    parts: list[Message] = []
    waiting: list[tuple[Message, int]] = [(message, 0)]
    while waiting:
        part, depth = waiting.pop()
        parts.append(part)
        if len(parts) > MAX_PARTS + 1:
            raise _reject(EX_DATAERR, f"malformed message: more than {MAX_PARTS} parts")
        if not part.is_multipart():
            continue
        if depth >= MAX_NESTING:
            raise _reject(
                EX_DATAERR, f"malformed message: parts nested more than {MAX_NESTING} levels deep"
            )
        # A multipart's payload is the list of its parts.
        children = [child for child in part.get_payload() if isinstance(child, Message)]
        waiting.extend((child, depth + 1) for child in reversed(children))
    return parts


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, TypeError, IndexError, LookupError):  # unparseable header
        return ""
    return " ".join(str(value).split()) if value is not None else ""


def sender_of(message: EmailMessage) -> Address:
    """The From address; Refused when there is none we could answer."""
    try:
        header = message.get("From")
        addresses: tuple[Address, ...] = (
            getattr(header, "addresses", ()) if header is not None else ()
        )
    except (ValueError, TypeError, IndexError, LookupError):
        addresses = ()
    if not addresses:
        raise _reject(EX_DATAERR, "malformed message: no sender address in From")
    address = addresses[0]
    if not address.username or "." not in address.domain or " " in address.addr_spec:
        raise _reject(EX_DATAERR, f"malformed message: unusable sender {address.addr_spec!r}")
    return address


def automatic_reason(message: EmailMessage, sender: Address) -> str | None:
    """Why this message is automatic (and must not be answered or recorded), or None."""
    auto_submitted = _header(message, "Auto-Submitted").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = _header(message, "Precedence").lower()
    if precedence in AUTOMATIC_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in AUTOMATIC_HEADERS:
        if message.get(name) is not None:
            return f"{name} header"
    if "Return-Path" in message and _header(message, "Return-Path").strip("<> ") == "":
        return "empty Return-Path (a bounce)"
    if message.get_content_type() == "multipart/report":
        return "a delivery or read report"
    if sender.username.lower() in AUTOMATIC_SENDERS:
        return f"sent by {sender.username}"
    settings = environment.current().settings
    own = {normalise_email(a) for a in (settings.mail_default_sender, settings.intake_address) if a}
    if normalise_email(sender.addr_spec) in own:
        return "sent from our own address (a loop)"
    return None


# Text --------------------------------------------------------------------------------------


def _decode(part: MIMEPart) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = (part.get_content_charset() or "us-ascii").lower()
    # Mail labelled Latin-1 or ASCII is very often Windows-1252 (curly quotes, the euro sign),
    # as browsers also assume; cp1252 decodes every Latin-1 letter the same way.
    if charset in {"iso-8859-1", "latin-1", "latin1", "us-ascii", "ascii"}:
        charset = "cp1252"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know
        return payload.decode("utf-8", errors="replace")


class _HtmlToText(HTMLParser):
    """HTML mail to plain text: paragraphs and line breaks kept, links spelled out, scripts,
    styles and quoted earlier messages (blockquote, Gmail's quote) dropped."""

    BLOCKS = frozenset(
        {"p", "div", "tr", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "hr"}
    )
    SKIP = frozenset({"script", "style", "head", "title", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping: list[str] = []
        self.links: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        classes = (found.get("class") or "").split()
        quoted = {"gmail_quote", "gmail_signature", "moz-cite-prefix"} & set(classes)
        if self.skipping or tag in self.SKIP or quoted or found.get("id") == "divRplyFwdMsg":
            if tag not in {"br", "hr", "img", "meta", "link", "input"}:
                self.skipping.append(tag)
            return
        if tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in self.BLOCKS:
            self.out.append("\n\n")
        elif tag == "a":
            href = found.get("href") or ""
            self.links.append(href if href.startswith(("http://", "https://")) else None)

    def handle_endtag(self, tag: str) -> None:
        if self.skipping:
            if self.skipping[-1] == tag:
                self.skipping.pop()
            return
        if tag in self.BLOCKS:
            self.out.append("\n\n")
        elif tag == "a" and self.links:
            href = self.links.pop()
            text = "".join(self.out[-1:]).strip()
            if href and href != text:
                self.out.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.out.append(re.sub(r"[ \t\r\n\f]+", " ", data))


def html_to_text(html: str) -> str:
    """Readable plain text from an HTML part (made safe later by the Markdown sanitiser)."""
    parser = _HtmlToText()
    parser.feed(html)
    parser.close()
    lines = [line.strip() for line in "".join(parser.out).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# Lines where the quoted earlier message or the signature starts.
_QUOTE_STARTS = [
    re.compile(r"^On .{0,300}wrote:$", re.S),
    re.compile(
        r"^(Am|Le|El|Il|Op|Den) .{0,300}(schrieb|a écrit|escribió|ha scritto|schreef|skrev)"
        r".{0,40}:$",
        re.S,
    ),
    re.compile(r"^-{2,} ?(Original Message|Forwarded message|Ursprüngliche Nachricht)", re.I),
    re.compile(r"^_{10,}$"),  # Outlook's rule above the quoted header block
    re.compile(r"^-- ?$"),  # the signature delimiter
    re.compile(r"^(Sent from my \w+|Get Outlook for )", re.I),
]
_HEADER_BLOCK = re.compile(r"^(From|Von|De): .+")
_HEADER_NEXT = re.compile(r"^(Sent|Date|Gesendet|Envoyé|To): ", re.I)


def trim_reply(text: str) -> str:
    """The new words of an email: quoted earlier messages and the signature cut off. When that
    would leave nothing, the text is kept whole rather than lose what the person wrote."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    kept: list[str] = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        following = lines[index + 1].strip() if index + 1 < len(lines) else ""
        # "On Mon, 3 Nov ..., Portal <" / "feedback@example.org> wrote:" wraps over two lines.
        starts_quote = any(p.match(stripped) for p in _QUOTE_STARTS) or (
            stripped[:3] in {"On ", "Am ", "Le "}
            and any(p.match(f"{stripped} {following}") for p in _QUOTE_STARTS[:2])
        )
        if starts_quote or (_HEADER_BLOCK.match(stripped) and _HEADER_NEXT.match(following)):
            break
        if stripped.startswith(">"):
            continue  # a quoted line of an interleaved reply
        kept.append(line)
    result = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    return result or text.strip()


@dataclass(frozen=True)
class Content:
    """The words of a message, and its attached files: (name the sender gave, bytes) each."""

    text: str
    files: tuple[tuple[str, bytes], ...] = ()

    @property
    def attachments(self) -> int:
        """How many files came attached."""
        return len(self.files)


def _is_attachment(part: EmailMessage) -> bool:
    disposition = part.get_content_disposition()
    if disposition == "attachment":
        return True
    if part.get_content_maintype() in {"application", "audio", "video", "message"}:
        return True
    # Inline images (logos in signatures) are dropped without counting as attachments.
    return bool(part.get_filename()) and disposition != "inline"


def _file_of(part: EmailMessage) -> tuple[str, bytes]:
    payload = part.get_payload(decode=True)
    return _file_name(part), payload if isinstance(payload, bytes) else b""


def _file_name(part: EmailMessage) -> str:
    """The name the sender gave the file, fit to quote in the receipt: one line, no control
    characters, not too long (a name they did not give: "a file")."""
    try:
        name = part.get_filename() or ""
    except (ValueError, TypeError, LookupError):
        name = ""
    return clean_name(name)[:80]


def content_of(message: EmailMessage) -> Content:
    """The text/plain part, or else the HTML part as text, and the attached files."""
    body = message.get_body(preferencelist=("plain", "html"))
    files = tuple(
        _file_of(part)
        for part in message.walk()
        if not part.is_multipart() and part is not body and _is_attachment(part)
    )
    if body is None:
        return Content("", files)
    text = _decode(body)
    if body.get_content_type() == "text/html":
        text = html_to_text(text)
    text = text.replace("\r\n", "\n").replace("\x00", "")
    if body.get_param("format", "").lower() == "flowed":  # type: ignore[union-attr]
        text = unflow(text, delsp=body.get_param("delsp", "").lower() == "yes")  # type: ignore[union-attr]
    return Content(trim_reply(text), files)


def unflow(text: str, *, delsp: bool = False) -> str:
    """Join the lines of format=flowed text (RFC 3676) into the paragraphs that were typed.
    A line ending in a space is soft-wrapped: it runs on into the next. Line breaks are shown
    as typed on the site, so a soft wrap left in would break every sentence at 72 columns."""
    lines: list[str] = []
    carrying = False
    for line in text.split("\n"):
        # Space-stuffing: a leading space was added to protect the line, not typed.
        line = line[1:] if line.startswith(" ") else line
        flowed = line.endswith(" ") and line != "-- "  # "-- " opens the signature
        if delsp and flowed:
            line = line[:-1]
        if carrying:
            lines[-1] += line
        else:
            lines.append(line)
        carrying = flowed
    return "\n".join(lines)


def _clip(text: str, limit: int, note: str) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - len(note) - 2].rstrip() + "\n\n" + note


def title_from(subject: str, text: str, sender: Address) -> str:
    """The subject as an item title: reply prefixes and our reference tags removed, cut to the
    title's length at a word; without a subject, the start of the message."""
    title = _SUBJECT_PREFIX.sub("", " ".join(subject.split()))
    title = re.sub(r"\[?\(?\s*(reference\s+)?#\d+\s*\)?\]?", " ", title, flags=re.I)
    title = " ".join(title.split()).strip(" -:")
    if not title:
        first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
        title = first_line or f"Email from {sender.display_name or sender.addr_spec}"
    if len(title) > TITLE_MAX:
        title = title[: TITLE_MAX - 1].rsplit(" ", 1)[0].rstrip(" ,.;:") + "\u2026"
    return title


# Replies -----------------------------------------------------------------------------------


def _reply_addresses(message: EmailMessage, recipient: str) -> Iterable[str]:
    yield recipient
    for name in ("Delivered-To", "X-Original-To", "To", "Cc"):
        for value in message.get_all(name) or []:
            addresses = getattr(value, "addresses", None)
            if addresses is None:
                yield str(value)
            else:
                yield from (a.addr_spec for a in addresses)


def _message_ids(message: EmailMessage) -> set[str]:
    ids: set[str] = set()
    for name in ("In-Reply-To", "References"):
        ids.update(re.findall(r"<[^<>\s]+>", _header(message, name)))
    return ids


@dataclass(frozen=True)
class ReplyTarget:
    """The item a reply answers, and whether the reply proves it may comment there."""

    item_id: int
    proven: bool
    by_token: bool


def reply_target(message: EmailMessage, sender: str, recipient: str = "") -> ReplyTarget | None:
    """The item this message replies to, if it refers to one."""
    for address in _reply_addresses(message, recipient):
        match = _REPLY_ADDRESS.match((address or "").strip().strip("<>"))
        if match:
            item_id = int(match.group(1))
            proven = reply_token_matches(item_id, sender, match.group(2))
            return ReplyTarget(item_id, proven, by_token=True)
    subject = _header(message, "Subject")
    match = _SUBJECT_REFERENCE.search(subject)
    if match is None:
        return None
    item_id = int(match.group(1))
    # A subject is easy to write and From easy to forge: the reply must also answer a message
    # we sent this very address about this very item.
    ids = _message_ids(message)
    proven = bool(ids) and (
        db.session.scalar(
            sa.select(OutboxMessage.id)
            .where(
                OutboxMessage.message_id.in_(ids),
                OutboxMessage.feedback_id == item_id,
                sa.func.lower(OutboxMessage.to_email) == normalise_email(sender),
            )
            .limit(1)
        )
        is not None
    )
    return ReplyTarget(item_id, proven, by_token=False)


# The whole message -------------------------------------------------------------------------


def _message_key(message: EmailMessage, raw: bytes) -> str:
    message_id = _header(message, "Message-ID")[:255]
    # Without a Message-ID, a retried delivery of the same bytes is still recognised.
    return message_id or f"<sha256.{hashlib.sha256(raw).hexdigest()}@intake>"


def _intake_category() -> Category:
    slug = environment.current().settings.intake_category
    query = sa.select(Category)
    query = (
        query.where(Category.slug == slug)
        if slug
        else query.order_by(Category.position, Category.id)
    )
    category = db.session.scalars(query.limit(1)).first()
    if category is None:
        # Retried by the mail server, so nothing is lost while an admin sets categories up.
        raise _reject(EX_TEMPFAIL, f"no category to file email under (INTAKE_CATEGORY={slug!r})")
    return category


def _comment(user: User, target: ReplyTarget, content: Content) -> tuple[IntakeResult, int] | None:
    """The reply as a comment with the images among its files, and how many files were not
    kept; or None when it may not be a comment (it then becomes an item)."""
    if not target.proven:
        return None
    text = content.text or "(The reply had no text.)"
    try:
        # A savepoint: a reply that cannot be a comment keeps none of its uploads (the new
        # item it becomes takes them afresh).
        with db.session.begin_nested():
            files = keep_images(user, content.files)
            comment = add_comment(
                user,
                target.item_id,
                _clip(text, COMMENT_MAX, "[The rest was cut off.]"),
                images=files.kept,
            )
    except DomainError:  # gone, or no longer theirs to see: a new item instead
        return None
    item_id = comment.feedback_id
    if target.by_token and user.verified_at is None:
        # The token came only in mail to this address: replying proves the address is theirs.
        user.verified_at = utcnow()
    events.emit(events.CommentReceivedByEmail(comment))
    reason = f"comment added to #{item_id}"
    if files.kept:
        reason += f", {len(files.kept)} image(s) kept"
    result = IntakeResult("commented", EX_OK, reason, item_id, comment.id)
    return result, files.not_kept


def process_message(raw: bytes, *, recipient: str = "") -> IntakeResult:
    """Turn one message into an item or a comment (flushed; the caller commits when the result
    says something changed). Database errors propagate: the caller asks for a retry."""
    try:
        message = parse_message(raw)
        sender = sender_of(message)
        automatic = automatic_reason(message, sender)
        if automatic:
            return IntakeResult("ignored", EX_OK, f"ignored automatic mail ({automatic})")
        key = _message_key(message, raw)
        seen = db.session.scalar(
            sa.select(InboundEmail).where(InboundEmail.message_id == key).limit(1)
        )
        if seen is not None:
            return IntakeResult(
                "duplicate", EX_OK, f"already received {key}", seen.feedback_id, seen.comment_id
            )
        return _record(message, raw, sender, key, recipient)
    except Refused as refused:
        return IntakeResult(refused.outcome, refused.exit_code, refused.reason)


def _record(
    message: EmailMessage, raw: bytes, sender: Address, key: str, recipient: str
) -> IntakeResult:
    try:
        content = content_of(message)
    except (ValueError, TypeError, LookupError, AttributeError) as exc:
        raise _reject(EX_DATAERR, f"malformed message: {type(exc).__name__}") from exc
    email = normalise_email(sender.addr_spec)
    subject = _header(message, "Subject")
    target = reply_target(message, email, recipient)
    existing = find_user_by_email(email)
    if existing is not None and existing.is_staff and target is not None:
        raise _reject(EX_NOUSER, "staff reply in the admin pages, not by email")
    result: IntakeResult | None = None
    user: User | None = existing
    commented = None
    if target is not None and existing is not None and existing.is_active:
        commented = _comment(existing, target, content)
    if commented is not None:
        result, not_kept = commented
    else:
        result, user, not_kept = _new_item(message, sender, subject, content)
    db.session.add(
        InboundEmail(
            message_id=key,
            sender=email,
            subject=subject[:300],
            user_id=user.id if user is not None else None,
            feedback_id=result.item_id,
            comment_id=result.comment_id,
            attachments_refused=not_kept,
        )
    )
    db.session.flush()
    if target is not None and result.outcome == "created":
        result = IntakeResult(
            result.outcome,
            result.exit_code,
            f"{result.reason} (the reply to #{target.item_id} could not be a comment there)",
            result.item_id,
        )
    return result


_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})?")


def written_in(message: EmailMessage) -> str | None:
    """The language a mail says it is written in (its first Content-Language tag), if any."""
    tag = (_header(message, "Content-Language") or "").split(",")[0].strip()
    return tag if _LANGUAGE_TAG.fullmatch(tag) else None


def _new_item(
    message: EmailMessage, sender: Address, subject: str, content: Content
) -> tuple[IntakeResult, User, int]:
    """A new private item from the message, with the images among its files; the result, its
    author, and how many files were not kept."""
    if not content.text and not subject.strip():
        raise _reject(EX_DATAERR, "nothing to record: no subject and no text")
    # Nobody typed the From's name into our forms: it is cleaned, not refused (an encoded word
    # can carry NUL, escapes, line separators or direction overrides).
    name = clean_name(sender.display_name) or sender.username
    try:
        user, created = customer_for_email(sender.addr_spec, name[:80])
    except AccountUnavailable as exc:
        raise _reject(EX_NOUSER, "the sender's account is deactivated") from exc
    if created:
        events.emit(events.CustomerCreatedByEmail(user))
    category = _intake_category()
    body = content.text or "(The email had no text, only a subject.)"
    files = keep_images(user, content.files)
    item = submit_feedback(
        user,
        kind=FeedbackKind(environment.current().settings.intake_kind),
        category_id=category.id,
        title=title_from(subject, content.text, sender),
        body=_clip(body, BODY_MAX, "[The rest of the email was cut off.]"),
        visibility=Visibility.PRIVATE,
        channel=FeedbackChannel.EMAIL,
        send_receipt=False,
        language=written_in(message),
        images=files.kept,
    )
    message_id = _header(message, "Message-ID")
    events.emit(
        events.ItemReceivedByEmail(
            item,
            user,
            in_reply_to=message_id if message_id.startswith("<") else "",
            attachments_refused=files.not_kept,
            files=files.receipt,
        )
    )
    reason = f"created #{item.id}"
    if files.kept:
        reason += f", {len(files.kept)} image(s) kept"
    if files.not_kept:
        reason += f", {files.not_kept} attachment(s) not kept"
    return IntakeResult("created", EX_OK, reason, item.id), user, files.not_kept


@dataclass(frozen=True)
class KeptFiles:
    """What became of a message's files: the uploads kept (public ids, for the item) and
    what the receipt says of the rest."""

    kept: list[str]
    receipt: events.FilesByEmail

    @property
    def not_kept(self) -> int:
        """How many files were left out, for whatever reason."""
        receipt = self.receipt
        return len(receipt.refused) + receipt.other_files + receipt.over_limit


def keep_images(sender: User, files: Iterable[tuple[str, bytes]]) -> KeptFiles:
    """Keep the images among a message's files as the sender's uploads, in order, through the
    pipeline (which tells an image by its bytes): at most MAX_PER_TARGET; past that, images
    are counted, not decoded. A file the pipeline can make nothing of is another kind of file;
    one it refuses with a reason (too large, damaged, a type we do not take) is named in the
    receipt with that reason."""
    kept: list[str] = []
    refused: list[events.FileRefused] = []
    other_files = over_limit = 0
    for name, data in files:
        try:
            if not data:
                other_files += 1
            elif not images.starts_like_a_taken_image(data):
                raise images.other_file_refusal(data)
            elif len(kept) >= attachments.MAX_PER_TARGET:
                over_limit += 1  # counted, never decoded
            else:
                kept.append(attachments.upload_image(sender, data).public_id)
        except images.ImageRefused as refusal:
            if refusal.reason is images.Refusal.NOT_AN_IMAGE:
                other_files += 1
            else:
                refused.append(events.FileRefused(name=name, reason=refusal.text))
    return KeptFiles(
        kept=kept,
        receipt=events.FilesByEmail(
            images_kept=len(kept),
            refused=tuple(refused),
            other_files=other_files,
            over_limit=over_limit,
        ),
    )
