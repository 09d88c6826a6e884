"""Property-based checks of the API against its own OpenAPI document (schemathesis): for
generated requests to every operation, no server errors, and every response matches the
schema documented for its status code. Run anonymously and with a write token."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from portal.extensions import db
from portal.models import Role
from portal.services import workflow

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Small and derandomised: the same examples every run, well under a minute in all.
EXAMPLES = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _isolated(app: Flask) -> Callable[..., Iterable[bytes]]:
    """The app as a WSGI callable whose requests never share the test's context or session
    (as tests/conftest.py's IsolatedClient does for the test client)."""

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return list(contextvars.Context().run(app, environ, start_response))

    return wsgi


@pytest.fixture
def seeded(make_user, make_category, make_feedback) -> dict[str, Any]:
    """Something for every endpoint to find: categories, items in several states, a
    resolution, a member of staff."""
    staff = make_user(role=Role.STAFF, email="staff@example.com")
    bins = make_category(name="Bins")
    for n in range(3):
        make_feedback(category=bins, title=f"Bins were missed in week {n}")
    acknowledged = make_feedback(category=bins, title="Recycling lids blow away")
    workflow.acknowledge(
        acknowledged.id, staff, "Thank you, we are ordering heavier lids.", post_anyway=True
    )
    resolved = make_feedback(category=bins, title="Crew blocks the road")
    workflow.resolve(resolved.id, staff, "Crews now park in the lay-by.", post_anyway=True)
    db.session.commit()
    return {"staff": staff, "item_ids": [acknowledged.id, resolved.id, resolved.id - 1]}


def _realistic(seeded: dict[str, Any]) -> Callable[[Any], Any]:
    """Half the generated cases point at real rows (an item, the category, the member of
    staff), so writes get past "not found" into the services and the workflow."""

    def strategy(cases: Any) -> Any:
        def adjust(drawn: tuple[schemathesis.Case, int, bool]) -> schemathesis.Case:
            case, item_id, real = drawn
            if not real:
                return case
            if case.path_parameters and "item_id" in case.path_parameters:
                case.path_parameters["item_id"] = item_id
            if isinstance(case.body, dict):
                if "category" in case.body:
                    case.body["category"] = "bins"
                if "acting_as" in case.body:
                    case.body["acting_as"] = seeded["staff"].email
            return case

        return st.tuples(cases, st.sampled_from(seeded["item_ids"]), st.booleans()).map(adjust)

    return strategy


def _run(app: Flask, seeded: dict[str, Any], headers: dict[str, str] | None) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", _isolated(app))
    operations = [result.ok() for result in schema.get_all_operations()]
    # Every documented operation but the document itself, which schemathesis leaves out.
    assert len(operations) == 10, "\n".join(o.label for o in operations)
    failures: list[str] = []
    for operation in operations:

        @EXAMPLES
        @given(case=_realistic(seeded)(operation.as_strategy()))
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            check()
        except Exception as exc:  # one operation's failure should not hide the others'
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)


def test_the_api_matches_its_openapi_document_for_anonymous_callers(
    app: Flask, seeded: dict[str, Any]
) -> None:
    _run(app, seeded, headers=None)


def test_the_api_matches_its_openapi_document_with_a_write_token(
    app: Flask, seeded: dict[str, Any], write_token: str
) -> None:
    _run(app, seeded, headers={"Authorization": f"Bearer {write_token}"})
