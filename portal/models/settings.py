"""Site settings: one row, edited by admins and shown on every page."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base


class SiteSettings(Base):
    """The organisation's name and contact details, the display time zone, moderation and
    branding (a logo and an accent colour)."""

    __tablename__ = "site_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_name: Mapped[str] = mapped_column(sa.String(120), default="Our organisation")
    contact_email: Mapped[str] = mapped_column(sa.String(254), default="")
    contact_phone: Mapped[str] = mapped_column(sa.String(40), default="")
    contact_address: Mapped[str] = mapped_column(sa.String(300), default="")
    time_zone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    # A language code ("en", "es"); visitors whose browser names no offered language get it.
    default_language: Mapped[str] = mapped_column(sa.String(16), default="en", server_default="en")
    # When on, new public items wait for staff approval before they show on the board.
    pre_moderation: Mapped[bool] = mapped_column(default=False)
    # When an admin put the "Get started" checklist away before every step was done
    # (portal/services/get_started.py); None: it shows while steps remain.
    get_started_dismissed_at: Mapped[datetime | None]
    # Branding (portal/services/branding.py): the logo's key in the attachment store (its
    # bytes re-encoded by the image pipeline) and its size; the accent colour, "#rrggbb".
    logo_key: Mapped[str | None] = mapped_column(sa.String(80))
    logo_width: Mapped[int | None]
    logo_height: Mapped[int | None]
    accent_colour: Mapped[str | None] = mapped_column(sa.String(7))
    # Sign-in policy (portal/services/sign_in_policy.py): the key of the identity provider
    # staff must sign in through (None: any way they have), and whether customers may sign in
    # with a password (off: email links, providers and single sign-on only).
    staff_identity_provider: Mapped[str | None] = mapped_column(sa.String(40))
    customer_passwords: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # The origins ("https://www.example.org") whose pages may embed the feedback widget, one a
    # line (portal/services/widget.py): its pages say them in CSP frame-ancestors; none, none.
    widget_origins: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
