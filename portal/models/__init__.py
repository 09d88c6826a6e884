"""Typed models, one module per aggregate. Importing this package registers them all."""

from portal.models.category import Category
from portal.models.feedback import (
    Comment,
    Feedback,
    FeedbackKind,
    FeedbackState,
    TimelineEvent,
    TimelineKind,
    Visibility,
    Vote,
)
from portal.models.settings import SiteSettings
from portal.models.user import Role, User

__all__ = [
    "Category",
    "Comment",
    "Feedback",
    "FeedbackKind",
    "FeedbackState",
    "Role",
    "SiteSettings",
    "TimelineEvent",
    "TimelineKind",
    "User",
    "Visibility",
    "Vote",
]
