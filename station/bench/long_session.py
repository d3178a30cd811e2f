"""A long headless session's memory: RSS of `station record --headless` after every saved take.

    python -m station.bench.long_session --takes 200 --cameras 2 --size 640x480

Runs the real command (demo arms, test-pattern cameras, the default encoder) in a subprocess and reads its
resident memory from /proc after each "episode N saved". Memory is flat when the second half of the session
grows by less than --max-growth-mb and no sample exceeds --max-rss-mb; the exit code says whether it was.
Allocator fragmentation (encoders allocating in parallel threads, each glibc arena keeping its freed pages)
shows here as a slow climb take after take, not as a peak.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SAVED = re.compile(r"^episode (\d+) saved")


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def slope_mb_per_100(samples: list[float]) -> float:
    """Least-squares growth of the second half of the samples, in MB per 100 takes."""
    half = samples[len(samples) // 2:]
    n = len(half)
    if n < 2:
        return 0.0
    mean_x, mean_y = (n - 1) / 2, sum(half) / n
    var = sum((x - mean_x) ** 2 for x in range(n))
    return 100 * sum((x - mean_x) * (y - mean_y) for x, y in enumerate(half)) / var


def run(takes: int, cameras: int, size: str, vcodec: str, episode_s: float, root: Path,
        echo: bool) -> dict:
    args = [sys.executable, "-m", "station", "record", "--headless", "--demo", "--root", str(root),
            "--episodes", str(takes), "--episode-time", f"{episode_s:g}", "--reset-time", "0",
            "--vcodec", vcodec]
    for i in range(cameras):
        args += ["--camera", f"cam{i}=testsrc@{size}"]
    started = time.monotonic()
    samples: list[float] = []
    with tempfile.TemporaryFile("w+") as errors, subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=errors, text=True
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if SAVED.match(line):
                rss = rss_mb(proc.pid)
                if rss is not None:
                    samples.append(rss)
                    if echo:
                        print(f"take {len(samples):4d}: {rss:7.1f} MB", flush=True)
        code = proc.wait()
        errors.seek(0)
        err = errors.read()
    return {
        "takes": takes, "cameras": cameras, "size": size, "vcodec": vcodec, "episode_s": episode_s,
        "exit_code": code, "stderr": err.strip()[-2000:], "seconds": round(time.monotonic() - started, 1),
        "rss_mb": [round(s, 1) for s in samples],
        "rss_first_mb": round(samples[0], 1) if samples else None,
        "rss_max_mb": round(max(samples), 1) if samples else None,
        "rss_last_mb": round(samples[-1], 1) if samples else None,
        "growth_mb_per_100_takes": round(slope_mb_per_100(samples), 1),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--takes", type=int, default=200)
    p.add_argument("--cameras", type=int, default=2)
    p.add_argument("--size", default="640x480")
    p.add_argument("--vcodec", default="libsvtav1", choices=["libsvtav1", "h264"])
    p.add_argument("--episode-time", type=float, default=1.0)
    p.add_argument("--max-rss-mb", type=float, default=400.0)
    p.add_argument("--max-growth-mb", type=float, default=20.0, help="per 100 takes, over the second half")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a line per take")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="station-long-") as tmp:
        result = run(args.takes, args.cameras, args.size, args.vcodec, args.episode_time, Path(tmp) / "ds",
                     echo=not args.json)
    flat = (
        result["exit_code"] == 0 and len(result["rss_mb"]) == args.takes
        and result["rss_max_mb"] is not None and result["rss_max_mb"] < args.max_rss_mb
        and result["growth_mb_per_100_takes"] < args.max_growth_mb
    )
    result["flat"] = flat
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{len(result['rss_mb'])} takes saved in {result['seconds']} s (exit {result['exit_code']}): "
              f"RSS first {result['rss_first_mb']} MB, max {result['rss_max_mb']} MB, last {result['rss_last_mb']} MB, "
              f"second-half growth {result['growth_mb_per_100_takes']} MB per 100 takes: "
              f"{'flat' if flat else 'NOT flat'}")
        if result["exit_code"] != 0:
            print(result["stderr"], file=sys.stderr)
    return 0 if flat else 1


if __name__ == "__main__":
    sys.exit(main())
