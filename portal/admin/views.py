"""Staff triage and admin pages under /admin/: one blueprint, one module per part.

The routes live in triage_views (the queue), item_views (one item), resolution_views
("Resolve together" and edits), settings_views (categories, people, site settings, audit, API
tokens), insight_views, webhook_views, sso_views and widget_views; each registers itself on the
blueprint from portal/admin/blueprint.py when imported here. Every route checks the role: all
of /admin/ is for staff, and admin-only pages say so with @admin_required.
"""

from __future__ import annotations

from portal.admin import (  # noqa: F401  (each registers its routes on the blueprint)
    insight_views,
    item_views,
    people_views,
    resolution_views,
    settings_views,
    sso_views,
    triage_views,
    webhook_views,
    widget_views,
)
from portal.admin.blueprint import bp

__all__ = ["bp"]
