"""A chat notice in each service's incoming-webhook format: Slack (`text` plus Block Kit
`blocks`), Microsoft Teams (a message carrying an Adaptive Card, which Teams' incoming webhooks
and its Workflows webhooks both take) and Discord (`content` plus one embed, within Discord's
limits, and mentions switched off).

Plain data in, plain data out: the words arrive already in the site's language, so this module
only shapes and escapes them. Nothing a customer wrote reaches a message except a public item's
title; a person's email address never does (see docs/design.md, "Chat notifications").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from portal.models import ChatKind


@dataclass(frozen=True)
class Notice:
    """What one message says, in the reader's words: a headline naming the event, the item
    as staff may share it, facts (owner, category, state...) and the link to its admin page."""

    headline: str
    item_label: str  # "#12 The lift is broken", or "#12 (private item)"
    facts: tuple[tuple[str, str], ...]
    link: str
    link_label: str


# Discord's documented limits (https://discord.com/developers/docs/resources/message).
DISCORD_CONTENT_MAX = 2000
DISCORD_TITLE_MAX = 256
DISCORD_DESCRIPTION_MAX = 4096
DISCORD_FIELD_NAME_MAX = 256
DISCORD_FIELD_VALUE_MAX = 1024
DISCORD_FIELDS_MAX = 25
# Slack: a section's text at most 3,000 characters, a button's label 75.
SLACK_SECTION_MAX = 3000
SLACK_BUTTON_MAX = 75

_DISCORD_MARKDOWN = re.compile(r"([\\*_~`|>#\[\]()-])")


def _cut(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "\u2026"


def slack_escape(text: str) -> str:
    """Slack reads &, < and > as control characters (<!channel> pings everyone)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def discord_escape(text: str) -> str:
    """Markdown characters shown as themselves (mentions are off in allowed_mentions)."""
    return _DISCORD_MARKDOWN.sub(r"\\\1", text)


def slack(notice: Notice) -> dict[str, Any]:
    """Slack's incoming webhook: `text` (the notification's words) and `blocks`."""
    facts = "\n".join(
        f"*{slack_escape(name)}:* {slack_escape(value)}" for name, value in notice.facts
    )
    item = f"<{notice.link}|{slack_escape(notice.item_label)}>"
    return {
        # The notification's words, read as mrkdwn too: escaped like the blocks.
        "text": slack_escape(f"{notice.headline}: {notice.item_label}"),
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": _cut(f"*{slack_escape(notice.headline)}*\n{item}", SLACK_SECTION_MAX),
                },
            },
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _cut(facts, SLACK_SECTION_MAX)},
            },
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {
                            "type": "plain_text",
                            "text": _cut(notice.link_label, SLACK_BUTTON_MAX),
                        },
                        "url": notice.link,
                    }
                ],
            },
        ],
    }


def teams(notice: Notice) -> dict[str, Any]:
    """A Teams message with one Adaptive Card attachment (what Teams' incoming webhooks and
    Workflows' "post to a channel when a webhook request is received" accept)."""
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {
                            "type": "TextBlock",
                            "text": notice.headline,
                            "weight": "Bolder",
                            "size": "Medium",
                            "wrap": True,
                        },
                        {"type": "TextBlock", "text": notice.item_label, "wrap": True},
                        {
                            "type": "FactSet",
                            "facts": [
                                {"title": name, "value": value} for name, value in notice.facts
                            ],
                        },
                    ],
                    "actions": [
                        {"type": "Action.OpenUrl", "title": notice.link_label, "url": notice.link}
                    ],
                },
            }
        ],
    }


def discord(notice: Notice) -> dict[str, Any]:
    """Discord's execute-webhook body: `content` and one embed, cut to Discord's limits, with
    every mention parsed away (a title saying @everyone pings no one)."""
    fields = [
        {
            "name": _cut(name, DISCORD_FIELD_NAME_MAX),
            "value": _cut(value, DISCORD_FIELD_VALUE_MAX) or "\u2014",
            "inline": True,
        }
        for name, value in notice.facts[:DISCORD_FIELDS_MAX]
    ]
    return {
        "content": _cut(discord_escape(notice.headline), DISCORD_CONTENT_MAX),
        "embeds": [
            {
                "title": _cut(notice.item_label, DISCORD_TITLE_MAX),
                "url": notice.link,
                "description": _cut(
                    f"[{discord_escape(notice.link_label)}]({notice.link})",
                    DISCORD_DESCRIPTION_MAX,
                ),
                "fields": fields,
            }
        ],
        "allowed_mentions": {"parse": []},
    }


def payload(kind: ChatKind, notice: Notice) -> dict[str, Any]:
    """The body a channel of this kind is sent."""
    return {ChatKind.SLACK: slack, ChatKind.TEAMS: teams, ChatKind.DISCORD: discord}[kind](notice)
