"""Recognition: a published resolution thanks the people who raised it, by name only those who
chose it, and "My feedback" says which changes someone's feedback led to."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Feedback, Resolution, Role, User, Visibility
from portal.services import accounts, resolutions, workflow
from portal.services.item_data import WITHHELD_YOU_SAID
from portal.services.resolutions import Thanks, changes_led_to, thanks_for, voice_counts
from portal.services.votes import set_vote
from tests.helpers import count_queries, resolve_together

MakeUser = Callable[..., User]
MakeFeedback = Callable[..., Feedback]


def _named(make_user: MakeUser, name: str) -> User:
    person = make_user(display_name=name)
    accounts.update_profile(
        person, display_name=name, preferred_name=person.preferred_name, thank_by_name=True
    )
    db.session.commit()
    return person


def _thanks(resolution: Resolution) -> str:
    voices = voice_counts([resolution.id])
    thanked = thanks_for([resolution.id], voices).get(resolution.id)
    return str(thanked.sentence) if thanked else ""


@pytest.fixture
def staff(make_user: MakeUser) -> User:
    return make_user(role=Role.STAFF)


@pytest.mark.parametrize(
    ("names", "others", "sentence"),
    [
        ((), 12, "Thanks to 12 people who raised this."),
        ((), 1, "Thanks to the person who raised this."),
        (("Jo",), 0, "Thanks to Jo, who raised this."),
        (("Jo", "Sam"), 0, "Thanks to Jo and Sam, who raised this."),
        (("Jo", "Sam", "Priya"), 0, "Thanks to Jo, Sam and Priya, who raised this."),
        (("Jo",), 1, "Thanks to Jo and 1 other who raised this."),
        (("Jo", "Sam"), 12, "Thanks to Jo, Sam and 12 others who raised this."),
    ],
)
def test_the_thanks_names_those_who_chose_it_then_counts_the_others(
    names: tuple[str, ...], others: int, sentence: str
) -> None:
    assert str(Thanks(names, others).sentence) == sentence


def test_nobody_is_thanked_by_name_unless_they_chose_it(make_user, make_feedback, staff) -> None:
    item = make_feedback(author=make_user(display_name="Jo Marsh"))
    set_vote(make_user(display_name="Sam Hale"), item.id, want=True)
    resolution = workflow.resolve(item.id, staff, "We mended the gate.", post_anyway=True)
    db.session.commit()
    assert _thanks(resolution) == "Thanks to 2 people who raised this."


def test_those_who_chose_it_are_named_first_to_raise_it_first(
    make_user, make_feedback, staff
) -> None:
    author = _named(make_user, "Jo Marsh")
    item = make_feedback(author=author)
    set_vote(make_user(), item.id, want=True)  # not named: counted
    set_vote(_named(make_user, "Sam Hale"), item.id, want=True)
    db.session.commit()
    resolution = workflow.resolve(item.id, staff, "We mended the gate.", post_anyway=True)
    db.session.commit()
    assert _thanks(resolution) == "Thanks to Jo Marsh, Sam Hale and 1 other who raised this."


def test_changing_ones_mind_takes_the_name_off_again(make_user, make_feedback, staff) -> None:
    author = _named(make_user, "Jo Marsh")
    item = make_feedback(author=author)
    resolution = workflow.resolve(item.id, staff, "We mended the gate.", post_anyway=True)
    db.session.commit()
    assert _thanks(resolution) == "Thanks to Jo Marsh, who raised this."
    accounts.update_profile(
        author, display_name="Jo Marsh", preferred_name="Jo", thank_by_name=False
    )
    db.session.commit()
    assert _thanks(resolution) == "Thanks to the person who raised this."


def test_the_preference_is_off_for_a_new_account_and_kept_when_the_form_leaves_it_out(
    make_user,
) -> None:
    person = make_user(display_name="Jo Marsh")
    assert person.thank_by_name is False
    person = _named(make_user, "Sam Hale")
    accounts.update_profile(person, display_name="Sam Hale", preferred_name="Sam")
    db.session.commit()
    assert person.thank_by_name is True


def test_a_voice_merged_into_the_item_is_thanked_too(make_user, make_feedback, staff) -> None:
    target = make_feedback(author=make_user())
    duplicate = make_feedback(author=_named(make_user, "Ada Byrne"))
    workflow.merge(duplicate.id, staff, target.id, "Thank you, Ada: same fault.", post_anyway=True)
    db.session.commit()
    resolution = workflow.resolve(target.id, staff, "We mended the gate.", post_anyway=True)
    db.session.commit()
    assert _thanks(resolution) == "Thanks to Ada Byrne and 1 other who raised this."


def test_someone_who_raised_it_only_privately_is_counted_not_named(
    make_user, make_feedback, staff
) -> None:
    public = make_feedback(author=make_user())
    private = make_feedback(author=_named(make_user, "Jo Marsh"), visibility=Visibility.PRIVATE)
    resolution = resolve_together([public, private], staff, "We mended the gate.")
    db.session.commit()
    assert _thanks(resolution) == "Thanks to 2 people who raised this."


@pytest.mark.parametrize("withheld", ["redacted", "hidden"])
def test_someone_whose_item_staff_withheld_is_counted_not_named(
    make_user, make_feedback, staff, withheld: str
) -> None:
    """Naming the author of an item whose words staff took down (or its voters) would say on
    the board what its own page no longer does."""
    shown = make_feedback(author=make_user())
    taken_down = make_feedback(author=_named(make_user, "Jo Marsh"))
    set_vote(_named(make_user, "Sam Hale"), taken_down.id, want=True)
    db.session.commit()
    resolution = resolve_together([shown, taken_down], staff, "We mended the gate.")
    if withheld == "redacted":
        workflow.redact(taken_down.id, staff, "A neighbour's name.")
    else:
        workflow.set_hidden(taken_down.id, staff, True, "Abuse.")
    db.session.commit()
    assert _thanks(resolution) == "Thanks to 3 people who raised this."


def test_a_deleted_account_is_never_named(make_user, make_feedback, staff) -> None:
    author = _named(make_user, "Jo Marsh")
    item = make_feedback(author=author)
    resolution = workflow.resolve(item.id, staff, "We mended the gate.", post_anyway=True)
    db.session.commit()
    accounts.delete_account(author, "correct horse battery")
    db.session.commit()
    assert author.thank_by_name is False
    assert _thanks(resolution) == "Thanks to the person who raised this."


def test_at_most_ten_are_named_and_the_rest_are_counted(
    make_user, make_feedback, staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resolutions, "THANKED_BY_NAME", 2)
    item = make_feedback(author=_named(make_user, "Jo Marsh"))
    for name in ("Sam Hale", "Priya Nair"):
        set_vote(_named(make_user, name), item.id, want=True)
    db.session.commit()
    resolution = workflow.resolve(item.id, staff, "We mended the gate.", post_anyway=True)
    db.session.commit()
    assert _thanks(resolution) == "Thanks to Jo Marsh, Sam Hale and 1 other who raised this."


def test_thanks_for_a_page_of_resolutions_are_read_in_one_statement(
    make_user, make_feedback, staff
) -> None:
    published = []
    for n in range(3):
        item = make_feedback(author=_named(make_user, f"Person named {n}"))
        published.append(workflow.resolve(item.id, staff, "Fixed.", post_anyway=True))
    db.session.commit()
    ids = [r.id for r in published]
    voices = voice_counts(ids)
    with count_queries(db.engine) as log:
        thanks = thanks_for(ids, voices)
    assert log.count == 1
    assert [thanks[i].names for i in ids] == [(f"Person named {n}",) for n in range(3)]


# "Your feedback led to N changes" ------------------------------------------------------------


def test_changes_led_to_are_those_someone_raised_voted_on_or_saw_merged(
    make_user, make_feedback, staff
) -> None:
    jo, bystander = make_user(), make_user()
    raised = make_feedback(author=jo, title="Gate is broken")
    voted = make_feedback(title="Lights out")
    set_vote(jo, voted.id, want=True)
    duplicate = make_feedback(author=jo, title="Gate still broken")
    target = make_feedback(title="The gate")
    workflow.merge(duplicate.id, staff, target.id, "Same fault, Jo: thank you.", post_anyway=True)
    still_open = make_feedback(author=jo, title="Bins")
    unrelated = make_feedback(author=bystander)
    db.session.commit()
    by_raised = workflow.resolve(raised.id, staff, "We mended the gate.", post_anyway=True)
    by_vote = workflow.resolve(voted.id, staff, "New bulbs.", post_anyway=True)
    by_merge = workflow.resolve(target.id, staff, "A new gate.", post_anyway=True)
    workflow.resolve(unrelated.id, staff, "Other thing.", post_anyway=True)
    db.session.commit()

    changes = changes_led_to(jo)
    assert {c.resolution_id for c in changes} == {by_raised.id, by_vote.id, by_merge.id}
    assert [c.resolution_id for c in changes] == sorted(
        (c.resolution_id for c in changes), reverse=True
    )  # newest first
    assert still_open.resolution_id is None
    assert changes_led_to(make_user()) == []


def test_a_change_is_named_with_no_one_elses_withheld_words(
    make_user, make_feedback, staff
) -> None:
    jo, sam = make_user(), make_user()
    theirs = make_feedback(author=sam, title="Sam Bloggs at no. 4 shouts")
    set_vote(jo, theirs.id, want=True)
    db.session.commit()
    workflow.resolve(theirs.id, staff, "We spoke to the neighbour.", post_anyway=True)
    workflow.redact(theirs.id, staff, "A neighbour's name.")
    db.session.commit()
    [for_jo] = changes_led_to(jo)
    [for_sam] = changes_led_to(sam)
    assert for_jo.you_said == WITHHELD_YOU_SAID
    assert for_sam.you_said == "Sam Bloggs at no. 4 shouts"  # their own words


def _plans(engine: sa.Engine, run: Callable[[], object]) -> list[str]:
    """The query plan of each statement `run` sends, as the database would run it."""
    sent: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, context, executemany) -> None:
        sent.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", keep)
    try:
        run()
    finally:
        sa.event.remove(engine, "before_cursor_execute", keep)
    sqlite = engine.dialect.name == "sqlite"
    plans = []
    with engine.connect() as connection:
        if not sqlite:
            # PostgreSQL reads a test's small tables whole, by its statistics; told not to,
            # its plan shows the indexes it can use.
            connection.exec_driver_sql("SET enable_seqscan = off")
        for statement, parameters in sent:
            explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
            rows = connection.exec_driver_sql(explain + statement, parameters)
            plans.append(" ".join(str(row[-1]) for row in rows))
    return plans


def test_voices_and_thanks_read_the_items_votes_not_every_vote_of_the_people_named(
    make_user, make_feedback, staff
) -> None:
    # Someone named who voted on much else: the thanks once started from the people named
    # and read every vote each of them ever cast (seconds a feed on a large site).
    keen = _named(make_user, "Sam Hale")
    for _ in range(3):
        set_vote(keen, make_feedback().id, want=True)
    item = make_feedback(author=_named(make_user, "Jo Marsh"))
    set_vote(keen, item.id, want=True)
    resolution = workflow.resolve(item.id, staff, "We mended the gate.", post_anyway=True)
    db.session.commit()
    # As many resolutions as a feed asks about (SQLite plans by how many it is given); only
    # the first exists.
    ids = [resolution.id, *range(resolution.id + 1000, resolution.id + 1049)]
    voices, thanks = _plans(db.engine, lambda: thanks_for(ids, voice_counts(ids)))
    for plan in (voices, thanks):
        # Who voted and when, off the index of the items' votes alone (no row per vote).
        assert "ix_votes_feedback_id_created_at_user_id" in plan, plan
        assert "uq_votes_user_id_feedback_id" not in plan, plan
        assert "ix_feedback_author_id" not in plan, plan
    if db.engine.dialect.name == "sqlite":
        assert "SEARCH votes USING INDEX sqlite_autoindex" not in thanks, thanks
        assert "COVERING INDEX ix_votes_feedback_id_created_at_user_id" in voices, voices
    assert _thanks(resolution) == "Thanks to Jo Marsh and Sam Hale, who raised this."
