"""The write floor: a signed-in write with nothing but the stack's own parts. Flask-Login
loads the user from the session (one SELECT on the seeded users table), Flask-WTF checks the
CSRF token, one `UPDATE ... RETURNING` bumps a counter on the item and commits, and a small
HTML fragment (the vote button) comes back.

The portal's vote does what its rules ask on top (the vote row, follows, the timeline,
events, the session row, languages...): the benchmark's "vs write floor" column measures that.
The floor signs people in through its own tiny form (POST /login, email and password,
checked against the seeded hash); its session cookie is its own, as it has its own key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, abort, render_template, request
from flask_login import LoginManager, UserMixin, login_required, login_user
from flask_wtf.csrf import CSRFProtect, generate_csrf
from floor_db import make_engine
from werkzeug.security import check_password_hash

# A toggle that keeps the stored count within one of where it was however often it runs: up
# from an even count, down from an odd one.
BUMP = sa.text(
    "UPDATE feedback SET vote_count = vote_count + 1 - 2 * (vote_count % 2) "
    "WHERE id = :id RETURNING vote_count"
)
LOAD_USER = sa.text("SELECT id, display_name FROM users WHERE id = :id AND active = true")

app = Flask(__name__, template_folder=str(Path(__file__).resolve().parent / "templates"))
app.config.update(
    SECRET_KEY=os.environ.get("FLOOR_SECRET_KEY", "write-floor-" + os.environ["SECRET_KEY"]),
    WTF_CSRF_TIME_LIMIT=None,
    SESSION_COOKIE_HTTPONLY=True,
    SESSION_COOKIE_SAMESITE="Lax",
)
csrf = CSRFProtect(app)
login_manager = LoginManager(app)
engine = make_engine()


class User(UserMixin):
    """The signed-in person, as the floor knows them."""

    def __init__(self, user_id: int, name: str) -> None:
        self.id = user_id
        self.name = name


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """One SELECT per request, as a session-backed sign-in costs."""
    with engine.connect() as conn:
        row = conn.execute(LOAD_USER, {"id": int(user_id)}).first()
    return User(row.id, row.display_name) if row else None


@app.post("/login")
@csrf.exempt
def login() -> dict[str, Any]:
    """The bench's sign-in: email and password; answers with the CSRF token for the session."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT id, display_name, password_hash FROM users WHERE email = :email"),
            {"email": request.form.get("email", "")},
        ).first()
    if row is None or not check_password_hash(row.password_hash, request.form.get("password", "")):
        abort(403)
    login_user(User(row.id, row.display_name))
    return {"csrf_token": generate_csrf()}


@app.post("/feedback/<int:item_id>/vote")
@login_required
def vote(item_id: int) -> str:
    """Bump the item's counter and answer with the button's fragment."""
    with engine.connect().execution_options(write=True) as conn:
        votes = conn.execute(BUMP, {"id": item_id}).scalar()
        conn.commit()
    if votes is None:
        abort(404)
    return render_template(
        "_write_floor_vote.html", item_id=item_id, votes=votes, on=votes % 2 == 1
    )


@app.get("/healthz")
def healthz() -> dict[str, str]:
    """Answers once the worker is up (the benchmark waits for it)."""
    return {"status": "ok"}
