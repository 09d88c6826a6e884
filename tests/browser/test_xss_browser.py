"""Real XSS payloads, rendered in a real browser: no dialog opens and no script is even tried
(the CSP would report an attempt as a violation, which the browser log fixture fails on)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from portal.extensions import db
from portal.models import Role
from portal.services import workflow
from portal.services.feedback import add_comment

PAYLOADS = [
    line
    for line in (Path(__file__).parents[1] / "data" / "xss" / "payloads.txt")
    .read_text(encoding="utf-8", errors="replace")
    .splitlines()
    if line.strip()
]
PER_ITEM = 150


def test_xss_payloads_never_run_in_the_browser(
    open_page, make_user, make_verified_user, make_category, make_feedback
) -> None:
    category = make_category(name="Security")
    staff = make_verified_user(role=Role.STAFF)
    chunks = [PAYLOADS[i : i + PER_ITEM] for i in range(0, len(PAYLOADS), PER_ITEM)]
    items = []
    for n, chunk in enumerate(chunks):
        author = make_user(display_name=chunk[0][:80], preferred_name=chunk[1][:80])
        item = make_feedback(
            author=author,
            category=category,
            title=(chunk[2][:150] or "payload") + f" #{n}",
            body="\n\n".join(chunk),
            post_anyway=True,  # payloads carry addresses and numbers: posted past the guard
        )
        add_comment(
            make_user(display_name=chunk[3][:80]),
            item.id,
            "\n".join(chunk[::-1]),
            post_anyway=True,
        )
        items.append(item)
    db.session.commit()
    resolved = items[0]
    workflow.resolve(
        resolved.id, staff, "\n\n".join(chunks[0][:60]), chunks[0][4][:200], post_anyway=True
    )
    db.session.commit()

    dialogs: list[str] = []
    page = open_page()
    page.on(
        "dialog", lambda dialog: (dialogs.append(f"{page.url}: {dialog.message}"), dialog.dismiss())
    )
    urls = ["/", "/?sort=new", "/you-said-we-did", f"/?q={quote(PAYLOADS[10][:100])}"]
    urls += [f"/feedback/{item.id}" for item in items]
    for url in urls:
        page.goto(url)
        page.wait_for_load_state("load")
        page.wait_for_timeout(150)  # onload/onerror handlers and timers get their chance
        assert page.locator("script:not([src])").count() == 0, url
    assert dialogs == []
    assert len(PAYLOADS) >= 300
