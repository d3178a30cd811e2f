"""`station cameras`: the V4L2 cameras found and the modes they offer, like `lerobot-find-cameras`."""

from __future__ import annotations

import argparse

from station.hardware.cameras import V4L2Device, list_v4l2_devices


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "cameras",
        help="list the cameras (V4L2 devices) and their modes",
        description="List /dev/video* devices with their pixel formats, sizes and frame rates.",
    )
    p.add_argument("--devices", default="/dev/video*", help=argparse.SUPPRESS)  # glob, for tests
    return p


def describe(device: V4L2Device) -> list[str]:
    if device.error:
        return [f"{device.path}  cannot be opened: {device.error}"]
    title = f"{device.path}  {device.card} ({device.driver})"
    if not device.capture:
        return [f"{title}: not a capture device (metadata or output node)"]
    lines = [title]
    for mode in device.modes:
        sizes = ", ".join(
            f"{w}x{h}" + (f" @ {'/'.join(f'{r:g}' for r in rates)} fps" if rates else "") for w, h, rates in mode.sizes
        )
        lines.append(f"    {mode.fourcc:<5} {mode.description}: {sizes or 'no sizes listed'}")
    return lines


def run(args: argparse.Namespace) -> int:
    devices = list_v4l2_devices(args.devices)
    if not devices:
        print("no cameras found (no /dev/video* device)")
        return 0
    for device in devices:
        print("\n".join(describe(device)))
    example = next((f"{d.path}@{m.sizes[0][0]}x{m.sizes[0][1]}/{m.fourcc}"
                    for d in devices if d.capture for m in d.modes if m.sizes), "/dev/video0@640x480/MJPG")
    if any(d.capture for d in devices):
        print(f"Use one as --camera NAME=/dev/videoN@WxH/FORMAT, e.g. --camera front={example}")
    return 0
