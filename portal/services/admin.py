"""Admin work: categories, users and roles, and site settings. Every change is audited (the
consumers of their events write the entries)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import available_timezones

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Category, Role, SiteSettings, User
from portal.services import environment, events
from portal.services.accounts import end_all_sessions, refuse_while_owning_open_items
from portal.services.errors import DomainError, NotAllowed, NotFound
from portal.services.site import settings_for_update
from portal.services.wording import Text, t


def _require_admin(actor: User) -> None:
    if not (actor.is_authenticated and actor.is_admin):
        raise NotAllowed(t("Only admins can do that."))


def require_active_admin(actor: User, message: Text) -> None:
    """Refuse anyone but a signed-in, active admin, saying what only admins may do."""
    if not (actor.is_authenticated and actor.is_admin and actor.is_active):
        raise NotAllowed(message)


def save_category(actor: User, category_id: int | None, **fields: Any) -> Category:
    """Create a category (no id), or update one; names and address names stay unique."""
    _require_admin(actor)
    category = None
    if category_id is not None:
        category = db.session.get(Category, category_id)
        if category is None:
            raise NotFound(t("We could not find that category."))
    for column in ("name", "slug"):
        clash = db.session.scalar(
            sa.select(Category.id).where(
                sa.func.lower(getattr(Category, column)) == str(fields[column]).lower(),
                Category.id != (category.id if category else -1),
            )
        )
        if clash is not None:
            raise DomainError(
                t("Another category already has that name.")
                if column == "name"
                else t("Another category already has that address name.")
            )
    created = category is None
    if category is None:
        category = Category()
        db.session.add(category)
    for key, value in fields.items():
        setattr(category, key, value)
    db.session.flush()
    events.emit(events.CategorySaved(category, actor, created, fields))
    return category


def search_users(query: str, page: int, per_page: int = 30) -> Any:
    """Users whose email or names contain the query, staff first."""
    select = sa.select(User).where(User.deleted_at.is_(None))
    if query.strip():
        like = f"%{query.strip().lower()}%"
        select = select.where(
            sa.or_(
                sa.func.lower(User.email).like(like),
                sa.func.lower(User.display_name).like(like),
                sa.func.lower(User.preferred_name).like(like),
            )
        )
    order = sa.case({Role.ADMIN: 0, Role.STAFF: 1}, value=User.role, else_=2)
    select = select.order_by(order, User.display_name, User.id)
    return db.paginate(select, page=page, per_page=per_page, error_out=False)


def update_user(actor: User, user_id: int, *, role: Role, active: bool) -> User:
    """Change someone's role or deactivate them. Deactivation signs them out everywhere."""
    _require_admin(actor)
    user = db.session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise NotFound(t("We could not find that person."))
    if user.id == actor.id and (role is not Role.ADMIN or not active):
        raise DomainError(t("You cannot remove your own admin role or deactivate yourself."))
    if user.is_staff and (role is Role.CUSTOMER or not active):
        refuse_while_owning_open_items(user)
    previous_role, was_active = user.role, user.active
    user.role = role
    if user.active and not active:
        end_all_sessions(user)
    user.active = active
    db.session.flush()
    events.emit(events.UserUpdated(user, actor, previous_role, was_active))
    return user


def update_roles(actor: User, changes: Sequence[tuple[int, Role, bool]]) -> list[User]:
    """Change several people's roles and access at once (the people page's one form): each
    change is checked and audited as update_user does it, and a refusal of any one of them
    changes nobody (the unit of work rolls the others back)."""
    _require_admin(actor)
    return [
        update_user(actor, user_id, role=role, active=active) for user_id, role, active in changes
    ]


def update_settings(actor: User, **fields: Any) -> SiteSettings:
    """Change the organisation's name, contact details, time zone, default language or
    moderation."""
    _require_admin(actor)
    if fields.get("time_zone") not in available_timezones():
        raise DomainError(t("Choose a time zone from the list."))
    if "default_language" in fields and (
        fields["default_language"] not in environment.current().settings.languages
    ):
        raise DomainError(t("Choose a language from the list."))
    settings = settings_for_update()
    for key, value in fields.items():
        setattr(settings, key, value)
    db.session.flush()
    events.emit(events.SettingsUpdated(settings, actor, fields))
    return settings
