"""Typed models, one module per aggregate. Importing this package registers them all."""

from portal.models.audit import AuditEntry
from portal.models.category import Category
from portal.models.feedback import (
    ALLOWED_TRANSITIONS,
    OPEN_STATES,
    Comment,
    Feedback,
    FeedbackKind,
    FeedbackState,
    TimelineEvent,
    TimelineKind,
    Visibility,
    Vote,
)
from portal.models.resolution import Resolution
from portal.models.settings import SiteSettings
from portal.models.user import Role, User

__all__ = [
    "ALLOWED_TRANSITIONS",
    "OPEN_STATES",
    "AuditEntry",
    "Category",
    "Comment",
    "Feedback",
    "FeedbackKind",
    "FeedbackState",
    "Resolution",
    "Role",
    "SiteSettings",
    "TimelineEvent",
    "TimelineKind",
    "User",
    "Visibility",
    "Vote",
]
