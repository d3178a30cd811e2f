"""`station bench`: background saving against a synchronous save, side by side in one run."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="measure dead time, cadence and saving against a synchronous baseline")
    p.add_argument("--fps", type=int, default=30)
    p.add_argument("--cameras", type=int, default=2, choices=[1, 2, 3, 4])
    p.add_argument("--size", default="640x480", help="camera size WxH (default 640x480)")
    p.add_argument("--episodes", type=int, default=4)
    p.add_argument("--episode-time", type=float, default=10.0)
    p.add_argument("--reset-time", type=float, default=0.0)
    p.add_argument("--vcodec", default="libsvtav1", choices=["libsvtav1", "h264"])
    p.add_argument("--commit-episodes", type=int, default=50)
    p.add_argument("--long", action="store_true", help="also record one 60 s take for peak memory")
    p.add_argument("--gui", action="store_true", help="measure the window instead: display fps and GUI stalls")
    p.add_argument("--seconds", type=float, default=20.0,
                   help="with --gui: how long to measure (the same load headless first, as long)")
    p.add_argument("--listed-takes", type=int, default=0,
                   help="with --gui: the save queue already lists this many saved takes, as after a day of recording")
    p.add_argument("--json", action="store_true", help="print one JSON object")


TARGETS = [
    ("dead time p99 < 50 ms", lambda r: r["dead_time_ms"]["p99"] < 50),
    ("dead time 50x better than synchronous p50", lambda r: r["dead_time_ratio"] >= 50),
    ("late ticks < 0.5%", lambda r: r["late_tick_fraction"] < 0.005),
    ("period p99 < 1.1 x period", lambda r: r["period_p99_ms"] < 1.1 * r["period_target_ms"]),
    ("no dropped frames, video frames == rows", lambda r: r["dropped_frames"] == 0 and r["video_frames"] == r["rows"]),
    ("drain < one take", lambda r: r["drain_s"] < r["episode_s"]),
    ("realtime factor > 1", lambda r: r["realtime_factor"] > 1),
    ("commit growth < 1.5", lambda r: r["commit_growth"] < 1.5),
    ("peak RSS < 600 MB", lambda r: r["peak_rss_mb"] < 600),
    ("capacity >= 0.8 of the encoder alone", lambda r: r["capacity_fraction"] >= 0.8),
]


def run(args: argparse.Namespace, measure_gui: Callable[..., dict]) -> int:
    """`measure_gui` is the window benchmark, given by the command line (the only module that may import widgets)."""
    from station.errors import ConfigError

    try:
        w, h = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise ConfigError(f"bad --size {args.size!r}: expected WxH, e.g. 640x480") from None
    if not (16 <= w <= 7680 and 16 <= h <= 4320) or w % 2 or h % 2:
        raise ConfigError(f"bad --size {args.size!r}: even width and height between 16x16 and 7680x4320")
    if args.seconds <= 0 or args.seconds > 240:
        raise ConfigError(f"bad --seconds {args.seconds:g}: between 0 and 240 (each bench run stays under 5 min)")
    if not 0 <= args.listed_takes <= 5000:
        raise ConfigError(f"bad --listed-takes {args.listed_takes}: between 0 and 5000")
    if args.listed_takes and not args.gui:
        raise ConfigError("--listed-takes measures the window: add --gui")
    log = (lambda *_a: None) if args.json else (lambda text: print(text, flush=True))
    if args.gui:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="station-gui-bench-") as tmp:
            result = measure_gui(args.seconds, Path(tmp) / "ds", cameras=args.cameras, size=(w, h),
                                 vcodec=args.vcodec, listed_takes=args.listed_takes)
        print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))
        return 0
    from station.bench.session_bench import run as run_bench

    report = run_bench(
        fps=args.fps, cameras=args.cameras, size=(w, h), episodes=args.episodes, episode_s=args.episode_time,
        reset_s=args.reset_time, vcodec=args.vcodec, long_take=args.long, commit_episodes=args.commit_episodes,
        log=log,
    )
    if args.json:
        print(json.dumps(report), flush=True)
        return 0
    print(format_report(report), flush=True)
    return 0


def disk_words(r: dict) -> str:
    """What the spool's disk allows, measured in the same run as the capacity."""
    from station.preflight import CAPACITY

    if not r["spool_disk_mb_per_s"]:
        return "the spool's disk: not measured (too little free space to write to it without getting in the way)"
    bound = r["capacity_disk_limit"] < CAPACITY and r["capacity_fraction"] < CAPACITY
    return (f"the spool's disk: {r['spool_disk_mb_per_s']} MB/s, at most {r['capacity_disk_limit']} of the encoder "
            "alone in raw frames at the capacity's size" + (" (the disk, not the station, bounds it here)"
                                                            if bound else ""))


def format_report(r: dict) -> str:
    d, s = r["dead_time_ms"], r["sync_dead_time_ms"]
    lines = [
        f"session: {r['episodes']} takes x {r['episode_s']:g} s, {r['cameras']} cameras {r['size']} @ {r['fps']} fps, "
        f"{r['vcodec']}",
        "",
        f"{'':28}{'background':>14}{'synchronous':>14}",
        f"{'dead time p50 (ms)':28}{d['p50']:>14.1f}{s['p50']:>14.1f}",
        f"{'dead time p99 (ms)':28}{d['p99']:>14.1f}{s['p99']:>14.1f}",
        f"{'dead time max (ms)':28}{d['max']:>14.1f}{s['max']:>14.1f}",
        f"{'late ticks':28}{r['late_tick_fraction']:>14.2%}{r['sync_late_tick_fraction']:>14.2%}",
        f"{'session wall time (s)':28}{r['wall_s']['background']:>14.1f}{r['wall_s']['sync']:>14.1f}",
        "",
        f"synchronous p50 / background p99 dead time: {r['dead_time_ratio']}x",
        f"control period p99: {r['period_p99_ms']} ms (target {r['period_target_ms']} ms)",
        f"rows {r['rows']}, video frames per camera {r['video_frames']}, dropped {r['dropped_frames']}, "
        f"repeated {r['repeated_frames']}",
        f"drain after the last take: {r['drain_s']} s; encode {r['encode_fps']} frames/s "
        f"= {r['realtime_factor']}x real time",
        f"commit: first {r['commit_ms_first']} ms, last {r['commit_ms_last']} ms, growth {r['commit_growth']}x",
        f"capacity: {r['capacity_pixels_per_s'] / 1e6:.1f} Mpixel/s recorded without a growing backlog "
        f"({r['capacity_size']} at {r['fps']} fps) = {r['capacity_fraction']} of the encoder alone on the same "
        f"frames; the encoder alone at {r['size']}: {r['encoder_alone_fps']} camera-frames/s",
        disk_words(r),
        f"spool: {r['spool_bytes_per_frame']} bytes and {r['spool_cpu_ms_per_frame']} ms CPU per camera-frame "
        f"(RGB24: {r['spool_bytes_per_frame_rgb24']} bytes, {r['spool_cpu_ms_per_frame_rgb24']} ms)",
        f"peak RSS: {r['peak_rss_mb']} MB"
        + (f" (4 takes: {r['peak_rss_mb_4_takes']} MB, with a 60 s take: {r['peak_rss_mb_60s_take']} MB)"
           if r.get("peak_rss_mb_60s_take") else ""),
        *([f"resident memory during the 60 s take: {r['rss_mb_at_10s_and_60s_of_long_take'][0]} MB at 10 s, "
           f"{r['rss_mb_at_10s_and_60s_of_long_take'][1]} MB at 60 s"]
          if r.get("rss_mb_at_10s_and_60s_of_long_take") else []),
        "",
    ]
    for name, ok in TARGETS:
        lines.append(f"  [{'pass' if ok(r) else 'MISS'}] {name}")
    return "\n".join(lines)
