"""The image pipeline's cost: one 10 MB JPEG (6,000 x 4,000, photo-like) decoded, turned,
stripped, re-encoded and thumbnailed, as every upload is (portal/services/images.py).

    .venv/bin/python bench/images.py [--runs 5]

Prints the time per image (so uploads per second on one core) and the process's peak memory
over its start: what one upload worker needs on top of the app. Run in a fresh process; the
test image is made once under bench/results/. Uploads through the pages and the API join
`bench/run.py` when those exist (issue #24's next slice).
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--make-sample", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.make_sample:
        make_sample()
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
