"""Demo data for `make run`: people, categories and a few dozen realistic items."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Category, Feedback, Resolution, Role, TimelineEvent, User, Vote
from portal.services import workflow
from portal.services.accounts import register_user
from portal.services.feedback import add_comment, submit_feedback
from portal.services.insights import rollups
from portal.services.site import settings_for_update
from portal.services.votes import set_vote


@dataclass(frozen=True)
class DemoLogin:
    """A demo account to print for the newcomer."""

    role: str
    email: str
    password: str


DEMO_PASSWORD = "demo-password"

PEOPLE = [
    ("admin@example.com", "Ada (admin)", "Ada", Role.ADMIN),
    ("sam@example.com", "Sam from Support", "Sam", Role.STAFF),
    ("priya@example.com", "Priya from Delivery", "Priya", Role.STAFF),
    ("nia@example.com", "Nia", "Nia", Role.CUSTOMER),
    ("owen@example.com", "Owen P.", "Mr Owen", Role.CUSTOMER),
    ("marta@example.com", "Marta", "Marta", Role.CUSTOMER),
    ("li@example.com", "Li Wei", "Li", Role.CUSTOMER),
    ("jo@example.com", "Jo B.", "Jo", Role.CUSTOMER),
    ("ravi@example.com", "Ravi", "Ravi", Role.CUSTOMER),
]

THANKED_BY_NAME = {"owen@example.com", "marta@example.com", "li@example.com"}

CATEGORIES = [
    (
        "Billing",
        "billing",
        "Invoices, payments, refunds and prices.",
        24,
        "Thank the customer by name, say sorry for the trouble, and say what happens next.",
    ),
    (
        "Delivery",
        "delivery",
        "Getting orders to you: times, couriers, tracking.",
        24,
        "Apologise, check the tracking, and give a date we can keep.",
    ),
    (
        "Website and app",
        "website-and-app",
        "Signing in, checkout, search and the mobile app.",
        48,
        "Thank them for the detail, ask nothing they have already told us.",
    ),
    (
        "Customer service",
        "customer-service",
        "How we answered you: phone, chat and email.",
        24,
        "Own the mistake; never ask whether they called.",
    ),
    (
        "Products",
        "products",
        "What we sell: quality, range and ideas for new things.",
        72,
        "Thank them for the idea and say honestly whether it fits our plans.",
    ),
]

# (author index, category slug, kind, visibility, title, body)
ITEMS = [
    (
        3,
        "billing",
        "complaint",
        "public",
        "Charged twice for one order",
        "My card was charged twice for one order on Monday. The second charge is still there.",
    ),
    (
        4,
        "delivery",
        "complaint",
        "public",
        "Courier left my parcel in the rain",
        "The parcel was left outside the front door in the rain and the box was soaked through.",
    ),
    (
        5,
        "website-and-app",
        "complaint",
        "public",
        "Checkout times out on the payment step",
        "Three times now the checkout spins on *Pay now* and then says the session expired.",
    ),
    (
        6,
        "website-and-app",
        "idea",
        "public",
        "Dark mode for the app",
        "The app is very bright at night. A dark theme would be easier on the eyes.",
    ),
    (
        7,
        "delivery",
        "idea",
        "public",
        "Let me choose a delivery time slot",
        "I work shifts. Being able to pick a two-hour slot would save me missed deliveries.",
    ),
    (
        8,
        "products",
        "praise",
        "public",
        "The new recycled packaging is great",
        "Love that the packaging is now paper only and goes in the recycling bin.",
    ),
    (
        3,
        "customer-service",
        "complaint",
        "public",
        "Waited 40 minutes on the phone",
        "I waited 40 minutes to speak to someone about a refund and was cut off.",
    ),
    (
        4,
        "billing",
        "question",
        "public",
        "Can I get a VAT invoice?",
        "I buy for my small business. Where can I download a VAT invoice for each order?",
    ),
    (
        5,
        "products",
        "idea",
        "public",
        "Sell refills for the cleaning spray",
        "Refill pouches would mean less plastic and I would happily buy them.",
    ),
    (
        6,
        "website-and-app",
        "complaint",
        "public",
        "Search finds nothing for 'oat milk'",
        "Typing oat milk in the search box shows no results, but it is in the shop.",
    ),
    (
        7,
        "delivery",
        "complaint",
        "public",
        "Tracking page stuck on 'label created'",
        "My order has said label created for five days. Has it even left the warehouse?",
    ),
    (
        8,
        "customer-service",
        "praise",
        "public",
        "Chat agent sorted my refund in minutes",
        "Thank you to the chat team for sorting out my refund so quickly and kindly.",
    ),
    (
        3,
        "website-and-app",
        "idea",
        "public",
        "Save my basket between devices",
        "I fill the basket on my phone and want to pay on my laptop, but it is empty there.",
    ),
    (
        4,
        "products",
        "complaint",
        "public",
        "Kettle stopped working after three weeks",
        "The 1.7 litre kettle stopped heating after three weeks of normal use.",
    ),
    (
        5,
        "billing",
        "complaint",
        "public",
        "Promo code not applied at checkout",
        "The code WELCOME10 from your email is accepted but the total does not change.",
    ),
    (
        6,
        "delivery",
        "question",
        "public",
        "Do you deliver to the Scottish islands?",
        "I live on Orkney. Can I order, and how long does it take?",
    ),
    (
        7,
        "website-and-app",
        "complaint",
        "public",
        "App logs me out every day",
        "Every morning the app has logged me out and I have to type my password again.",
    ),
    (
        8,
        "products",
        "idea",
        "public",
        "Bigger sizes of the kids' wellies",
        "The kids' wellies stop at size 2. Older children need them too.",
    ),
    (
        3,
        "customer-service",
        "idea",
        "public",
        "Offer a call-back instead of waiting on hold",
        "Let me leave my number and get a call back when it is my turn.",
    ),
    (
        4,
        "website-and-app",
        "complaint",
        "public",
        "Order history only shows the last 10 orders",
        "I need to find an order from last year but the history stops after ten.",
    ),
    (
        5,
        "delivery",
        "complaint",
        "public",
        "Missing item from my order, no note",
        "The tea towels were missing from my order and there was no note in the box.",
    ),
    (
        6,
        "billing",
        "idea",
        "public",
        "Pay with a bank transfer",
        "Some of us prefer not to use cards. A bank transfer option would help.",
    ),
    (
        7,
        "products",
        "question",
        "public",
        "Are the candles vegan?",
        "Do the scented candles contain beeswax or any animal products?",
    ),
    (
        8,
        "website-and-app",
        "praise",
        "public",
        "The new product pages load much faster",
        "Whatever you changed, the product pages are much quicker now. Thanks!",
    ),
    (
        3,
        "delivery",
        "complaint",
        "private",
        "Courier was rude at my door",
        "The courier swore at me when I asked him to bring the parcel upstairs. "
        "Please keep this private.",
    ),
    (
        4,
        "billing",
        "complaint",
        "private",
        "Refund went to my old card",
        "My refund went to a card I cancelled last month. How do I get the money?",
    ),
    (
        5,
        "customer-service",
        "complaint",
        "public",
        "Email replies ignore what I wrote",
        "Every email reply I get is a template that does not answer my question.",
    ),
    (
        6,
        "website-and-app",
        "idea",
        "public",
        "Show stock at my local shop",
        "Before I drive over, I would like to see if my local shop has it in stock.",
    ),
    (
        7,
        "products",
        "complaint",
        "public",
        "Jumper shrank after the first wash",
        "Washed at 30 as the label says and it shrank two sizes.",
    ),
    (
        8,
        "delivery",
        "idea",
        "public",
        "Send a photo when the parcel is delivered",
        "A photo of where the parcel was left would stop a lot of worry.",
    ),
    (
        3,
        "website-and-app",
        "question",
        "public",
        "How do I delete a saved address?",
        "I moved house and the old address keeps coming up first at checkout.",
    ),
    (
        4,
        "customer-service",
        "complaint",
        "public",
        "Nobody answered my complaint for a week",
        "I sent a complaint through the contact form a week ago and have heard nothing.",
    ),
]

COMMENTS = [
    "Same here, it happened to me last week too.",
    "This would really help me as well.",
    "Any news on this one?",
    "+1, please sort this out.",
    "I had the same problem on the app and the website.",
]


def _tell_the_story(
    items: list[Feedback], users: list[User], categories: dict[str, Category], now: datetime
) -> None:
    """Move demo items through the workflow, as staff would, so every state has examples."""
    admin, sam, priya = users[0], users[1], users[2]
    today = now.date()
    by_title = {item.title: item for item in items}

    def it(title: str) -> Feedback:
        return by_title[title]

    # The demo's staff write as the tone check asks (nothing here is posted anyway): the
    # name each customer chose, sorry once on a complaint, and what happens next while open.

    charged = it("Charged twice for one order")
    workflow.acknowledge(
        charged.id,
        sam,
        "Nia, I am so sorry about the double charge. I am on it now and will write to you by "
        "Friday.",
    )
    workflow.investigate(
        charged.id,
        sam,
        "Nia, I can see both payments and have asked our bank team why. I will tell you what "
        "they say tomorrow.",
    )
    workflow.resolve(
        charged.id,
        sam,
        "We found a fault in how payment retries were handled and fixed it. Everyone charged "
        "twice since October has been refunded automatically.",
        "I was charged twice for one order",
    )
    workflow.confirm_fixed(charged.id, charged.author)

    rain = it("Courier left my parcel in the rain")
    workflow.acknowledge(
        rain.id,
        priya,
        "Mr Owen, I am sorry your parcel was soaked. That is not good enough, and I will call "
        "you tomorrow about a replacement.",
    )
    workflow.plan(
        rain.id,
        priya,
        today + timedelta(days=12),
        "Mr Owen, couriers will get a safe-place rule: never outside in the rain without a bag.",
        outcome="every courier on your route following the new safe-place rule",
    )

    checkout = it("Checkout times out on the payment step")
    workflow.acknowledge(
        checkout.id,
        sam,
        "Marta, sorry about this, and thank you for trying three times. I will look into it today.",
    )
    workflow.investigate(
        checkout.id,
        sam,
        "Marta, we can reproduce it on slow connections. I will tell you when a fix is ready.",
    )
    workflow.start_work(
        checkout.id,
        sam,
        "Marta, a fix is being built to keep the session alive while you pay. I'll write when "
        "it is live, next week.",
    )
    duplicate = submit_feedback(
        users[8],
        kind="complaint",
        category_id=categories["website-and-app"].id,
        title="Payment page times out",
        body="Got 'session expired' while paying, twice.",
    )
    # Reported two days ago, like the others in the past, not at the moment of seeding.
    duplicate.created_at = now - timedelta(days=2)
    duplicate.ack_due_at = duplicate.created_at + timedelta(
        hours=categories["website-and-app"].ack_target_hours
    )
    workflow.merge(
        duplicate.id,
        sam,
        checkout.id,
        f"Ravi, sorry for the trouble. This is the same fault as #{checkout.id}, which we are "
        "fixing now; your vote is on it.",
    )

    dark = it("Dark mode for the app")
    workflow.acknowledge(
        dark.id,
        sam,
        "Li, thank you for the idea. Lots of you asked for this.",
    )
    workflow.plan(
        dark.id,
        sam,
        today + timedelta(days=30),
        "Li, dark mode is planned for the next release.",
        outcome="dark mode in the app",
    )
    workflow.move_promise(
        dark.id,
        sam,
        today + timedelta(days=45),
        "The release moved by two weeks because of a payment fix that came first.",
    )

    slots = it("Let me choose a delivery time slot")
    workflow.acknowledge(
        slots.id,
        priya,
        "Jo, thank you, shift work makes deliveries hard, I know.",
    )
    workflow.decline(
        slots.id,
        priya,
        "Jo, I am sorry: our couriers cannot offer slots this year. Instead you can "
        "now choose a safe place or a neighbour when you order.",
    )

    workflow.acknowledge(
        it("The new recycled packaging is great").id,
        priya,
        "Ravi, thank you! I will pass this on to the packing team.",
    )

    hold = it("Waited 40 minutes on the phone")
    callback = it("Offer a call-back instead of waiting on hold")
    workflow.acknowledge(
        hold.id,
        admin,
        "Nia, I am sorry you waited so long and were cut off. I will look at how our phone "
        "queue works this week.",
    )
    workflow.acknowledge(
        callback.id,
        admin,
        "Nia, thank you, this is a good idea.",
    )
    workflow.publish_resolution(
        [hold.id, callback.id],
        admin,
        "You can now ask for a call-back instead of waiting: leave your number and we call you "
        "when it is your turn, usually within 20 minutes.",
        "Waiting on hold for too long",
    )

    vat = it("Can I get a VAT invoice?")
    workflow.acknowledge(
        vat.id,
        sam,
        "Mr Owen, thanks for asking.",
    )
    workflow.resolve(
        vat.id,
        sam,
        "Every order now has a 'VAT invoice' download in Order history.",
    )

    workflow.investigate(
        it("Search finds nothing for 'oat milk'").id,
        sam,
        "Li, sorry, I can reproduce it and we are looking into the search index. I will write "
        "again on Friday.",
    )
    workflow.acknowledge(
        it("Save my basket between devices").id,
        sam,
        "Nia, thank you for this.",
    )
    workflow.plan(
        it("Save my basket between devices").id,
        sam,
        today + timedelta(days=60),
        "Nia, baskets will follow your account from the next app release.",
        outcome="your basket following you from phone to laptop",
    )
    kettle = it("Kettle stopped working after three weeks")
    workflow.acknowledge(
        kettle.id,
        priya,
        "Mr Owen, I am sorry, that kettle should last for years. I will send you a replacement "
        "today.",
    )
    workflow.resolve(
        kettle.id,
        priya,
        "We sent a replacement and withdrew the faulty batch.",
    )
    promo = it("Promo code not applied at checkout")
    workflow.acknowledge(
        promo.id,
        sam,
        "Marta, sorry about that, the code should work. I'll find out why today.",
    )
    workflow.start_work(
        promo.id,
        sam,
        "Marta, we found the bug: codes in capitals were ignored. The fix goes live on Monday.",
    )
    logout = it("App logs me out every day")
    workflow.acknowledge(
        logout.id,
        sam,
        "Jo, sorry, that is annoying. I will ask the app team to look at it this week.",
    )
    workflow.resolve(
        logout.id,
        sam,
        "The app now keeps you signed in for 30 days.",
    )
    workflow.request_reopen(logout.id, logout.author, "It still logged me out this morning, sorry!")
    workflow.acknowledge(
        it("Courier was rude at my door").id,
        priya,
        "Nia, I am very sorry. I have raised it with the courier's manager and will tell you "
        "what they say by Friday.",
    )
    workflow.investigate(
        it("Email replies ignore what I wrote").id,
        admin,
        "Marta, you are right, and I am sorry. We are reviewing our templates and I will show "
        "you the new ones next week.",
    )

    # Spread each item's steps between its submission and now, as if they happened over time.
    for item in [*items, duplicate]:
        events = list(
            db.session.scalars(
                sa.select(TimelineEvent)
                .where(TimelineEvent.feedback_id == item.id)
                .order_by(TimelineEvent.id)
            )
        )
        span = now - item.created_at
        for step, event in enumerate(events):
            event.created_at = item.created_at + span * (step / max(len(events), 1)) * 0.9
        changes = [e for e in events if e.kind == "state_changed"]
        if changes:
            item.acknowledged_at = changes[0].created_at
        if item.resolution_id is not None:
            item.resolved_at = changes[-1].created_at if changes else item.resolved_at
            resolution = db.session.get(Resolution, item.resolution_id)
            if resolution is not None and item.resolved_at is not None:
                resolution.published_at = item.resolved_at
    db.session.flush()


def demo_is_seeded() -> bool:
    """Whether any account exists, so `make run` seeds only the first time."""
    return bool(db.session.scalar(sa.select(sa.func.count()).select_from(User)))


def seed_demo(seed: int = 7) -> list[DemoLogin]:
    """Fill an empty database with a believable portal. Returns the sign-in details."""
    rng = random.Random(seed)
    now = datetime.now(UTC)

    settings = settings_for_update()
    settings.organisation_name = "Brightside Home"
    settings.contact_email = "care@brightside.example"
    settings.contact_phone = "0800 123 4567"
    settings.contact_address = "12 Canal Street, Manchester M1 3HE"
    settings.time_zone = "Europe/London"

    users = [
        register_user(
            email=email,
            password=DEMO_PASSWORD,
            display_name=display,
            preferred_name=preferred,
            role=role,
        )
        for email, display, preferred, role in PEOPLE
    ]
    for user in users:
        user.verified_at = now - timedelta(days=90)
        user.created_at = now - timedelta(days=90)
        # A few chose to be thanked by name on what they raised (the account page's box).
        user.thank_by_name = user.email in THANKED_BY_NAME

    categories: dict[str, Category] = {}
    for position, (name, slug, description, hours, guide) in enumerate(CATEGORIES):
        category = Category(
            name=name,
            slug=slug,
            description=description,
            ack_target_hours=hours,
            response_guide=guide,
            position=position,
        )
        db.session.add(category)
        categories[slug] = category
    db.session.flush()

    customers = [u for u in users if u.role is Role.CUSTOMER]
    items: list[Feedback] = []
    for index, (author_ix, slug, kind, visibility, title, body) in enumerate(ITEMS):
        item = submit_feedback(
            users[author_ix],
            kind=kind,
            category_id=categories[slug].id,
            title=title,
            body=body,
            visibility=visibility,
        )
        created = now - timedelta(days=len(ITEMS) - index, hours=rng.randint(0, 20))
        item.created_at = created
        item.ack_due_at = created + timedelta(hours=categories[slug].ack_target_hours)
        db.session.execute(
            sa.update(TimelineEvent)
            .where(TimelineEvent.feedback_id == item.id)
            .values(created_at=created)
        )
        items.append(item)
        if visibility == "public":
            for voter in rng.sample(customers, rng.randint(0, len(customers))):
                if voter.id != item.author_id:
                    set_vote(voter, item.id, want=True)
            # Given when the item was new, as the story is: a resolution's count is of the
            # people who raised it before it was published (resolutions.voice_counts).
            db.session.execute(
                sa.update(Vote).where(Vote.feedback_id == item.id).values(created_at=created)
            )
            if rng.random() < 0.4:
                commenter = rng.choice([c for c in customers if c.id != item.author_id])
                add_comment(commenter, item.id, rng.choice(COMMENTS))
    db.session.flush()

    _tell_the_story(items, users, categories, now)
    # The story's steps were dated back with SQL the insights roll-ups do not see: count again.
    db.session.flush()
    rollups.rebuild()
    return [
        DemoLogin(role.value, email, DEMO_PASSWORD)
        for email, _display, _preferred, role in PEOPLE
        if email in {"admin@example.com", "sam@example.com", "nia@example.com"}
    ]
