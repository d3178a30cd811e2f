"""Options shared by `station` (the window) and `station record --headless`, and turning them into config."""

from __future__ import annotations

import argparse
from pathlib import Path

from station.config import ArmConfig, CameraSource, SessionConfig, default_calibration_dir, default_root, demo_cameras
from station.errors import ConfigError
from station.joints import ROBOT_TYPE


def add_session_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--demo", action="store_true", help="simulated arms and test-pattern cameras (no hardware)")
    p.add_argument("--root", type=Path, help="dataset directory (default $HF_LEROBOT_HOME/<repo-id>)")
    p.add_argument("--repo-id", default="local/station", help="dataset name, e.g. user/pick_cube")
    p.add_argument("--task", default="Pick up the cube and place it in the box", help="task text of the takes")
    p.add_argument("--episodes", type=int, default=50, help="takes to record (default 50)")
    p.add_argument("--episode-time", type=float, default=60.0, help="seconds per take (default 60)")
    p.add_argument("--reset-time", type=float, default=60.0, help="seconds of reset between takes (default 60)")
    p.add_argument("--fps", type=int, default=30, help="control and capture rate (default 30)")
    p.add_argument("--camera", action="append", default=[], metavar="NAME=SOURCE[@WxH]",
                   help="a camera: SOURCE is testsrc, /dev/videoN or a video file (repeat for more)")
    p.add_argument("--vcodec", default="libsvtav1", choices=["libsvtav1", "h264"],
                   help="video codec: libsvtav1 as LeRobot (default) or h264 (faster)")
    p.add_argument("--resume", action="store_true", help="append to an existing dataset")
    p.add_argument("--follower-port", help="serial port of the follower arm, e.g. /dev/ttyACM0")
    p.add_argument("--leader-port", help="serial port of the leader arm, e.g. /dev/ttyACM1")
    p.add_argument("--calibration-dir", type=Path, help="LeRobot calibration directory")
    p.add_argument("--follower-id", default="follower", help="calibration id of the follower")
    p.add_argument("--leader-id", default="leader", help="calibration id of the leader")
    p.add_argument("--max-relative-target", type=float, help="clamp each follower step to this many degrees")
    p.add_argument("--robot-type", default=ROBOT_TYPE, help="robot_type in info.json (so101_follower for old datasets)")


def config_from_args(args: argparse.Namespace, demo_if_no_arms: bool = False) -> SessionConfig:
    """Build and validate a SessionConfig; raises ConfigError with one line on a bad value."""
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
    config = SessionConfig(
        root=args.root if args.root is not None else default_root(args.repo_id),
        repo_id=args.repo_id,
        task=args.task,
        episodes=args.episodes,
        episode_time_s=args.episode_time,
        reset_time_s=args.reset_time,
        fps=args.fps,
        cameras=cameras,
        vcodec=args.vcodec,
        resume=args.resume,
        demo=demo,
        arms=None if demo else arms,
        robot_type=args.robot_type,
    )
    config.validate()
    return config
