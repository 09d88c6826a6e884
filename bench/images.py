"""The image pipeline's cost: one 10 MB JPEG (6,000 x 4,000, photo-like) decoded, turned,
stripped, re-encoded and thumbnailed, as every upload is (portal/services/images.py).

    .venv/bin/python bench/images.py [--runs 5]

Prints the time per image (so uploads per second on one core) and the process's peak memory
over its start: what one upload worker needs on top of the app. Run in a fresh process; the
test image is made once under bench/results/.

    .venv/bin/python bench/images.py --through-api [--runs 5]

The same image through the real route instead: `POST /api/v1/items` as multipart/form-data
(the item as a JSON part, the JPEG as a file part) into the app, configured as served
(bench/run.py's make_app), by Flask's test client in this process, on a fresh SQLite database
with the default attachment store (the bytes in the database). Each request parses the
multipart body, authenticates the token, runs the pipeline, stores the image and its
thumbnail, writes the item and commits. Prints the time per request, the upload throughput
(request megabytes a second on one core) and the peak memory over the process's start, the
request body itself not counted (it is built before the start is read).
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

from PIL import Image  # noqa: E402

from portal.services.images import process_image  # noqa: E402

SAMPLE = BENCH_DIR / "results" / "sample-10mb.jpg"
MEGABYTE = 1024 * 1024


def make_sample() -> None:
    """A 24-megapixel JPEG of just under 10 MB: a gradient under noise, as a photo's grain."""
    SAMPLE.parent.mkdir(parents=True, exist_ok=True)
    gradient = Image.linear_gradient("L").resize((6000, 4000)).convert("RGB")
    grain = Image.effect_noise((6000, 4000), 40).convert("RGB")
    Image.blend(gradient, grain, 0.5).save(SAMPLE, "JPEG", quality=85)


def sample() -> bytes:
    """The sample's bytes, made in a process of its own so its memory is not counted here."""
    if not SAMPLE.exists():
        subprocess.run([sys.executable, __file__, "--make-sample"], check=True)
    return SAMPLE.read_bytes()


def through_api(runs: int) -> None:
    """Post the sample `runs` times through POST /api/v1/items and print what it cost."""
    import tempfile

    import flask_migrate
    from werkzeug.datastructures import FileStorage, MultiDict
    from werkzeug.test import encode_multipart

    sys.path.insert(0, str(BENCH_DIR))
    from run import make_app

    from portal.extensions import db
    from portal.models import Category, Role, TokenScope, User
    from portal.services import api_tokens
    from portal.services.api import unusable_password

    data = sample()
    folder = tempfile.TemporaryDirectory(prefix="bench-images-")
    app = make_app(f"sqlite:///{folder.name}/bench.sqlite3")
    with app.app_context():
        flask_migrate.upgrade()
        admin = User(
            email="admin@example.com",
            password_hash=unusable_password(),
            display_name="Bench Admin",
            preferred_name="Bench",
            role=Role.ADMIN,
        )
        db.session.add_all([admin, Category(name="Bins", slug="bins", ack_target_hours=48)])
        db.session.flush()
        token = api_tokens.create_token(admin, name="bench", scope=TokenScope.WRITE).plain
        db.session.commit()
    item = {
        "email": "nia.owen@example.com",
        "name": "Nia Owen",
        "kind": "complaint",
        "category": "bins",
        "title": "The bins were not collected",
        "body": "A photo of the street this morning.",
    }
    boundary, body = encode_multipart(
        MultiDict(
            [
                ("item", json.dumps(item)),
                ("images", FileStorage(io.BytesIO(data), "street.jpg", content_type="image/jpeg")),
            ]
        )
    )
    headers = {"Authorization": f"Bearer {token}"}
    content_type = f"multipart/form-data; boundary={boundary}"
    client = app.test_client()
    start_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        response = client.post(
            "/api/v1/items", data=body, headers=headers, content_type=content_type
        )
        timings.append(time.perf_counter() - began)
        if response.status_code != 201:
            raise SystemExit(f"POST /api/v1/items answered {response.status_code}: {response.text}")
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    median = sorted(timings)[len(timings) // 2]
    print(
        f"POST /api/v1/items, multipart: {len(body) / MEGABYTE:.1f} MB request with a "
        f"{len(data) / MEGABYTE:.1f} MB JPEG; {runs} requests, each 201"
    )
    print(
        f"median {median * 1000:.0f} ms per request ({1 / median:.2f} uploads/s, "
        f"{len(body) / MEGABYTE / median:.1f} MB/s on one core), best {min(timings) * 1000:.0f} "
        f"ms; peak memory {(peak_rss - start_rss) / 1024:.0f} MB over the process's start "
        f"({peak_rss / 1024:.0f} MB in all)"
    )
    folder.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--make-sample", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--through-api",
        action="store_true",
        help="post the image through POST /api/v1/items instead of the pipeline alone",
    )
    arguments = parser.parse_args()
    if arguments.make_sample:
        make_sample()
        return
    if arguments.through_api:
        through_api(arguments.runs)
        return
    runs = arguments.runs
    data = sample()
    start_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        kept = process_image(data, max_bytes=10 * MEGABYTE, max_pixels=40_000_000)
        timings.append(time.perf_counter() - began)
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    median = sorted(timings)[len(timings) // 2]
    print(
        f"input: {len(data) / MEGABYTE:.1f} MB JPEG, {kept.width} x {kept.height}; "
        f"kept: {len(kept.data) / MEGABYTE:.1f} MB, thumbnail {len(kept.thumbnail) / 1024:.0f} KB"
    )
    print(
        f"median {median * 1000:.0f} ms per image ({1 / median:.2f} uploads/s on one core), "
        f"best {min(timings) * 1000:.0f} ms; peak memory {(peak_rss - start_rss) / 1024:.0f} MB "
        f"over the process's start ({peak_rss / 1024:.0f} MB in all)"
    )


if __name__ == "__main__":
    main()
