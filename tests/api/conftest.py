"""API fixtures: tokens made through the service, and JSON requests that carry them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from portal.extensions import db
from portal.models import Role, TokenScope, User
from portal.services import api_tokens


@pytest.fixture
def admin(make_user: Callable[..., User]) -> User:
    return make_user(role=Role.ADMIN, display_name="Ada Admin")


@pytest.fixture
def make_token(admin: User) -> Callable[..., str]:
    """Create a committed token and return its plain text."""

    def build(scope: TokenScope = TokenScope.WRITE, name: str = "CRM sync") -> str:
        created = api_tokens.create_token(admin, name=name, scope=scope)
        db.session.commit()
        return created.plain

    return build


@pytest.fixture
def write_token(make_token: Callable[..., str]) -> str:
    return make_token(TokenScope.WRITE)


@pytest.fixture
def read_token(make_token: Callable[..., str]) -> str:
    return make_token(TokenScope.READ, name="Dashboard")
