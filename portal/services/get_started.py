"""First run: the first category `flask create-admin` adds, and the admins' "Get started"
checklist, whose steps are ticked from what the database and the configuration hold (nothing
is ticked by hand). The checklist shows on the triage page until every step is done or an
admin puts it away."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Category, Invitation, Role, SiteSettings, User
from portal.services import environment, events
from portal.services.admin import require_active_admin
from portal.services.site import DEFAULTS, SETTINGS_ID, settings_for_update
from portal.services.wording import t

# The category a new install starts with, for admins to rename (a value, like any name they
# type: not translated).
STARTER_CATEGORY = {"name": "General", "slug": "general"}


def add_first_category() -> Category | None:
    """Add the starter category when there is none (`flask create-admin`), so a visitor can
    submit at once; None when categories exist. Migrations add no rows: an `import-data`
    into a fresh database finds every table empty."""
    if db.session.scalar(sa.select(Category.id).limit(1)) is not None:
        return None
    category = Category(**STARTER_CATEGORY)
    db.session.add(category)
    db.session.flush()
    events.emit(events.FirstCategoryAdded(category))
    return category


@dataclass(frozen=True)
class Checklist:
    """Each step by name, with whether it is done; and whether the list shows at all."""

    steps: dict[str, bool]
    dismissed: bool

    @property
    def done(self) -> int:
        return sum(self.steps.values())

    @property
    def shown(self) -> bool:
        return not self.dismissed and not all(self.steps.values())


def checklist() -> Checklist:
    """Where the install stands, from real data:

    - organisation: the name is not the default one, and at least one way to reach a person;
    - categories: there is one, and the starter "General" has been renamed or described;
    - time zone: chosen (not the default UTC);
    - mail: an SMTP server is configured (MAIL_SERVER), so links in emails reach people;
    - staff: someone was invited, or more than one person is staff or admin."""
    settings = db.session.get(SiteSettings, SETTINGS_ID)
    named = settings is not None and settings.organisation_name != DEFAULTS["organisation_name"]
    reachable = settings is not None and any(
        (settings.contact_email, settings.contact_phone, settings.contact_address)
    )
    starter_untouched = sa.and_(
        Category.name == STARTER_CATEGORY["name"],
        Category.slug == STARTER_CATEGORY["slug"],
        Category.description == "",
    )
    categories_ready = db.session.execute(
        sa.select(
            sa.func.count(Category.id),
            sa.func.count(sa.case((starter_untouched, Category.id))),
        )
    ).one()
    invited = db.session.scalar(sa.select(Invitation.id).limit(1)) is not None
    staff_count = db.session.scalar(
        sa.select(sa.func.count(User.id)).where(
            User.role.in_((Role.STAFF, Role.ADMIN)), User.deleted_at.is_(None)
        )
    )
    return Checklist(
        steps={
            "organisation": named and reachable,
            "categories": categories_ready[0] > 0 and categories_ready[1] == 0,
            "time_zone": settings is not None and settings.time_zone != DEFAULTS["time_zone"],
            "mail": bool(environment.current().settings.mail_server),
            "staff": invited or (staff_count or 0) > 1,
        },
        dismissed=settings is not None and settings.get_started_dismissed_at is not None,
    )


def dismiss(actor: User) -> SiteSettings:
    """Put the checklist away for every admin, whatever is left to do (audited)."""
    require_active_admin(actor, t("Only admins can put the checklist away."))
    settings = settings_for_update()
    if settings.get_started_dismissed_at is None:
        settings.get_started_dismissed_at = datetime.now(UTC)
        db.session.flush()
        events.emit(events.GetStartedDismissed(settings, actor))
    return settings
