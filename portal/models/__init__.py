"""Typed models, one module per aggregate. Importing this package registers them all."""

from portal.models.api import ApiToken, TokenScope
from portal.models.attachment import Attachment, AttachmentBlob
from portal.models.audit import AuditEntry
from portal.models.category import Category
from portal.models.chat import (
    CHAT_EVENTS,
    ChatChannel,
    ChatEvent,
    ChatKind,
    ChatMessage,
    ChatMessageStatus,
    ChatNotice,
    chat_channel_categories,
)
from portal.models.digests import (
    DigestDelivery,
    DigestFrequency,
    DigestRun,
    DigestSubscription,
    digest_subscription_categories,
)
from portal.models.feedback import (
    OPEN_STATES,
    STAFF_CHANNELS,
    Comment,
    Feedback,
    FeedbackChannel,
    FeedbackKind,
    FeedbackState,
    ItemSignal,
    MergedVoice,
    SignalKind,
    TextVersion,
    TimelineEvent,
    TimelineKind,
    TrendingWindow,
    Visibility,
    Vote,
)
from portal.models.identity import SITE_SSO_ISSUER, Identity, IdentityProvider
from portal.models.insight import (
    InsightBacklog,
    InsightDay,
    InsightDuration,
    InsightItem,
    InsightWaiting,
)
from portal.models.intake import InboundEmail
from portal.models.invitation import Invitation, InvitationStatus
from portal.models.notifications import (
    CategoryFollow,
    Follow,
    OutboxMessage,
    OutboxStatus,
    Unsubscribe,
)
from portal.models.recording import RecordedKind, StaffRecording
from portal.models.resolution import Resolution, resolution_categories
from portal.models.session import UserSession
from portal.models.settings import SiteSettings
from portal.models.sso import SsoSettings, SsoTokenUse
from portal.models.user import NotificationPreference, Role, User
from portal.models.webhooks import (
    SUBSCRIBABLE_EVENTS,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    WebhookEvent,
)

__all__ = [
    "CHAT_EVENTS",
    "OPEN_STATES",
    "SITE_SSO_ISSUER",
    "STAFF_CHANNELS",
    "SUBSCRIBABLE_EVENTS",
    "ApiToken",
    "Attachment",
    "AttachmentBlob",
    "AuditEntry",
    "Category",
    "CategoryFollow",
    "ChatChannel",
    "ChatEvent",
    "ChatKind",
    "ChatMessage",
    "ChatMessageStatus",
    "ChatNotice",
    "Comment",
    "DigestDelivery",
    "DigestFrequency",
    "DigestRun",
    "DigestSubscription",
    "Feedback",
    "FeedbackChannel",
    "FeedbackKind",
    "FeedbackState",
    "Follow",
    "Identity",
    "IdentityProvider",
    "InboundEmail",
    "InsightBacklog",
    "InsightDay",
    "InsightDuration",
    "InsightItem",
    "InsightWaiting",
    "Invitation",
    "InvitationStatus",
    "ItemSignal",
    "MergedVoice",
    "NotificationPreference",
    "OutboxMessage",
    "OutboxStatus",
    "RecordedKind",
    "Resolution",
    "Role",
    "SignalKind",
    "SiteSettings",
    "SsoSettings",
    "SsoTokenUse",
    "StaffRecording",
    "TextVersion",
    "TimelineEvent",
    "TimelineKind",
    "TokenScope",
    "TrendingWindow",
    "Unsubscribe",
    "User",
    "UserSession",
    "Visibility",
    "Vote",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookDeliveryStatus",
    "WebhookEndpoint",
    "WebhookEvent",
    "chat_channel_categories",
    "digest_subscription_categories",
    "resolution_categories",
]
