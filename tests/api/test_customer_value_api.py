"""Customer value through the API: a write-scope token reads and changes a customer's plan,
monthly value and segment (null clears, a field left out stays); bad input is refused field
by field and changes nothing; without write scope, nothing is read or changed."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import AuditEntry, Role, User

API = "/api/v1"


def _patch(client: FlaskClient, email: str, body: Any, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.patch(f"{API}/customers/{email}", json=body, headers=headers)


def _saved(user_id: int) -> tuple[str | None, int | None, str | None]:
    db.session.expire_all()
    user = db.session.get(User, user_id)
    return user.plan, user.monthly_value_cents, user.segment


def test_a_write_token_sets_and_reads_a_customers_value(client, make_user, write_token) -> None:
    customer = make_user(email="nia@example.com")
    response = _patch(
        client,
        "Nia@Example.com",
        {"plan": "Business", "monthly_value_cents": 4990, "segment": "Retail"},
        write_token,
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["plan"] == "Business" and body["segment"] == "Retail"
    assert body["monthly_value_cents"] == 4990 and body["monthly_value"] == "49.90"
    assert body["currency"] == "USD"
    assert _saved(customer.id) == ("Business", 4990, "Retail")
    read = client.get(
        f"{API}/customers/nia@example.com", headers={"Authorization": f"Bearer {write_token}"}
    )
    assert read.status_code == 200 and read.get_json()["monthly_value"] == "49.90"
    entry = db.session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == "user.value_changed")
    )
    assert entry.actor_id is None and entry.detail["via"] == "api"
    assert entry.detail["token_prefix"]


def test_null_clears_a_field_and_one_left_out_stays(client, make_user, write_token) -> None:
    customer = make_user()
    _patch(
        client,
        customer.email,
        {"plan": "Pro", "monthly_value_cents": 1000, "segment": "Retail"},
        write_token,
    )
    response = _patch(client, customer.email, {"segment": None}, write_token)
    assert response.status_code == 200
    assert _saved(customer.id) == ("Pro", 1000, None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"monthly_value_cents": -1}, "monthly_value_cents"),
        ({"monthly_value_cents": 12.5}, "monthly_value_cents"),
        ({"monthly_value_cents": "4990"}, "monthly_value_cents"),
        ({"monthly_value_cents": True}, "monthly_value_cents"),
        ({"plan": "   "}, "plan"),
        ({"plan": "x" * 81}, "plan"),
        ({"segment": "Retail\nchains"}, "segment"),
        ({"segment": 5}, "segment"),
        ({"tier": "gold"}, "tier"),
        ({}, "plan"),
    ],
)
def test_bad_input_is_refused_field_by_field_and_changes_nothing(
    client, make_user, write_token, body: dict[str, Any], field: str
) -> None:
    customer = make_user()
    _patch(client, customer.email, {"plan": "Pro", "monthly_value_cents": 1000}, write_token)
    response = _patch(client, customer.email, {**body}, write_token)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert _saved(customer.id) == ("Pro", 1000, None)


def test_unknown_addresses_and_staff_answer_404(client, make_user, write_token) -> None:
    staff = make_user(role=Role.STAFF)
    for email in ("nobody@example.com", staff.email):
        response = _patch(client, email, {"plan": "Pro"}, write_token)
        assert response.status_code == 404
        assert response.get_json()["error"]["message"] == "No customer has that email address."
    assert _saved(staff.id) == (None, None, None)


def test_without_write_scope_nothing_is_read_or_changed(
    client, make_user, read_token, write_token
) -> None:
    customer = make_user()
    _patch(client, customer.email, {"monthly_value_cents": 1000}, write_token)
    assert _patch(client, customer.email, {"plan": "Free"}, None).status_code == 401
    assert _patch(client, customer.email, {"plan": "Free"}, read_token).status_code == 403
    for headers in ({}, {"Authorization": f"Bearer {read_token}"}):
        response = client.get(f"{API}/customers/{customer.email}", headers=headers)
        assert response.status_code in (401, 403)
        assert "1000" not in response.get_data(as_text=True)
    assert _saved(customer.id) == (None, 1000, None)


def test_the_openapi_document_describes_the_customer_endpoints(client) -> None:
    spec = client.get(f"{API}/openapi.json").get_json()
    path = spec["paths"]["/customers/{email}"]
    assert path["get"]["security"] == [{"bearerAuth": []}]
    change = spec["components"]["schemas"]["CustomerValueChange"]
    assert set(change["properties"]) == {"plan", "monthly_value_cents", "segment"}
    assert change["additionalProperties"] is False
