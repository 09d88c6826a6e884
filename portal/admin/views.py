"""Staff triage and admin pages under /admin/: one blueprint, one module per part.

The routes live in triage_views (the queue), item_views (one item), resolution_views
("Resolve together" and edits), settings_views (categories, people, site settings, audit, API
tokens), insight_views, webhook_views, chat_views, sso_views, sign_in_views (identity
providers and the sign-in policy), widget_views (the widget's origins and snippet),
value_views (a person's page and their customer value) and recording_views (feedback taken
for a customer); each registers itself on the blueprint from portal/admin/blueprint.py when
imported here. Every route checks the role: all of /admin/ is
for staff, and admin-only pages say so with @admin_required.
"""

from __future__ import annotations

from portal.admin import (  # noqa: F401  (each registers its routes on the blueprint)
    chat_views,
    insight_views,
    item_views,
    people_views,
    recording_views,
    resolution_views,
    settings_views,
    sign_in_views,
    sso_views,
    triage_views,
    value_views,
    webhook_views,
    widget_views,
)
from portal.admin.blueprint import bp

__all__ = ["bp"]
