"""The framework's floor: a minimal Flask app that renders a short page from a template.

Served by the benchmark under the same gunicorn settings as the portal, so the portal's
throughput can be read as a share of what Flask, Jinja and gunicorn manage on this machine.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, render_template

app = Flask(__name__, template_folder=str(Path(__file__).resolve().parent / "templates"))


@app.get("/")
def index() -> str:
    """A short HTML page with a loop, like the smallest real page."""
    return render_template(
        "minimal.html", title="Hello", items=["board", "item", "you said, we did"]
    )


@app.get("/healthz")
def healthz() -> dict[str, str]:
    """Answers once the worker is up (the benchmark waits for it)."""
    return {"status": "ok"}
