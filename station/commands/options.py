"""Options shared by `station` (the window) and `station record --headless`, and turning them into config."""

from __future__ import annotations

import argparse
from pathlib import Path

from station.config import (
    CAMERA_SYNTAX,
    ArmConfig,
    CameraSource,
    SessionConfig,
    default_calibration_dir,
    default_of,
    default_root,
    demo_cameras,
)
from station.errors import ConfigError


def _default(name: str) -> object:
    return default_of(SessionConfig, name)


def add_session_options(p: argparse.ArgumentParser) -> None:
    """The session's options; every default is SessionConfig's (or ArmConfig's), spelled there only."""
    d = _default
    p.add_argument("--demo", action="store_true", help="simulated arms and test-pattern cameras (no hardware)")
    p.add_argument("--root", type=Path, help="dataset directory (default $HF_LEROBOT_HOME/<repo-id>)")
    p.add_argument("--repo-id", default=d("repo_id"), help="dataset name, e.g. user/pick_cube")
    p.add_argument("--task", default=d("task"), help="task text of the takes")
    p.add_argument("--episodes", type=int, default=d("episodes"), help=f"takes to record (default {d('episodes')})")
    p.add_argument("--episode-time", type=float, default=d("episode_time_s"),
                   help=f"seconds per take (default {d('episode_time_s'):g})")
    p.add_argument("--reset-time", type=float, default=d("reset_time_s"),
                   help=f"seconds of reset between takes (default {d('reset_time_s'):g})")
    p.add_argument("--fps", type=int, default=d("fps"), help=f"control and capture rate (default {d('fps')})")
    p.add_argument("--camera", action="append", default=[], metavar=CAMERA_SYNTAX,
                   help="a camera: SOURCE is testsrc, /dev/videoN or a video file; FORMAT is the V4L2 pixel format "
                        "to ask a device for (MJPG, YUYV...; default MJPG when offered), e.g. "
                        "front=/dev/video0@640x480/MJPG; `station cameras` lists each device's modes (repeat for more)")
    p.add_argument("--vcodec", default=d("vcodec"), choices=["libsvtav1", "h264"],
                   help=f"video codec: libsvtav1 as LeRobot or h264 (faster); default {d('vcodec')}")
    p.add_argument("--resume", action="store_true", help="append to an existing dataset")
    p.add_argument("--follower-port", help="serial port of the follower arm, e.g. /dev/ttyACM0")
    p.add_argument("--leader-port", help="serial port of the leader arm, e.g. /dev/ttyACM1")
    p.add_argument("--calibration-dir", type=Path, help="LeRobot calibration directory")
    p.add_argument("--follower-id", default=default_of(ArmConfig, "follower_id"), help="calibration id of the follower")
    p.add_argument("--leader-id", default=default_of(ArmConfig, "leader_id"), help="calibration id of the leader")
    p.add_argument("--max-relative-target", type=float, help="clamp each follower step to this many degrees")
    p.add_argument("--robot-type", default=d("robot_type"),
                   help="robot_type in info.json (so101_follower for old datasets)")


def config_from_args(args: argparse.Namespace, demo_if_no_arms: bool = False) -> SessionConfig:
    """The SessionConfig the options describe; raises ConfigError with one line on a bad value."""
    arms = None
    if args.follower_port or args.leader_port:
        if not (args.follower_port and args.leader_port):
            raise ConfigError("give both --follower-port and --leader-port")
        arms = ArmConfig(
            follower_port=args.follower_port,
            leader_port=args.leader_port,
            calibration_dir=args.calibration_dir or default_calibration_dir(),
            follower_id=args.follower_id,
            leader_id=args.leader_id,
            max_relative_target=args.max_relative_target,
        )
    demo = bool(args.demo) or (arms is None and demo_if_no_arms)
    if args.demo and arms is not None:
        raise ConfigError("--demo uses simulated arms: drop --follower-port/--leader-port or --demo")
    cameras = [CameraSource.parse(c) for c in args.camera]
    if demo and not cameras:
        cameras = demo_cameras()
    return SessionConfig(
        root=args.root if args.root is not None else default_root(args.repo_id),
        repo_id=args.repo_id,
        task=args.task,
        episodes=args.episodes,
        episode_time_s=args.episode_time,
        reset_time_s=args.reset_time,
        fps=args.fps,
        cameras=tuple(cameras),
        vcodec=args.vcodec,
        resume=args.resume,
        demo=demo,
        arms=None if demo else arms,
        robot_type=args.robot_type,
    )
