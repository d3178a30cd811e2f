"""The dataset card (README.md) pushed with a dataset: LeRobot's tags and configs, and what the dataset holds."""

from __future__ import annotations

import json
from typing import Any

from station.dataset.features import video_keys

STATION_NAME = "station"
MAX_TASKS_LISTED = 50


def station_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(STATION_NAME)
    except PackageNotFoundError:
        return "unknown"


def dataset_card(info: dict[str, Any], tasks: list[str], repo_id: str) -> str:
    """README.md text. The YAML header is LeRobot's (tag "LeRobot", task robotics, the data/*/*.parquet config)
    so the Hub lists the dataset with LeRobot's and its viewer reads the frames."""
    from huggingface_hub import DatasetCardData

    robot = str(info.get("robot_type") or "unknown")
    data = DatasetCardData(
        license="apache-2.0",
        task_categories=["robotics"],
        tags=["LeRobot", robot, STATION_NAME],
        configs=[{"config_name": "default", "data_files": "data/*/*.parquet"}],
    )
    cameras = ", ".join(k.rsplit(".", 1)[-1] for k in video_keys(info.get("features") or {})) or "none"
    listed = "\n".join(f"- {t}" for t in tasks[:MAX_TASKS_LISTED])
    if len(tasks) > MAX_TASKS_LISTED:
        listed += f"\n- ... and {len(tasks) - MAX_TASKS_LISTED} more (meta/tasks.parquet)"
    version = station_version()
    return (
        f"---\n{data.to_yaml()}\n---\n\n"
        f"# {repo_id}\n\n"
        f"This dataset was created using [LeRobot](https://github.com/huggingface/lerobot)'s dataset format "
        f"v{str(info.get('codebase_version', 'v3.0')).lstrip('v')}, recorded with {STATION_NAME} {version}.\n\n"
        "## Dataset Description\n\n"
        f"| | |\n|---|---|\n"
        f"| Robot type | {robot} |\n"
        f"| Episodes | {info.get('total_episodes')} |\n"
        f"| Frames | {info.get('total_frames')} |\n"
        f"| FPS | {info.get('fps')} |\n"
        f"| Cameras | {cameras} |\n"
        f"| Tasks | {len(tasks)} |\n"
        f"| Recorded with | {STATION_NAME} {version} |\n\n"
        f"### Tasks\n\n{listed or '- (none)'}\n\n"
        "## Dataset Structure\n\n"
        "[meta/info.json](meta/info.json):\n"
        f"```json\n{json.dumps(info, indent=4)}\n```\n\n"
        "## Loading\n\n"
        "```python\nfrom lerobot.datasets.lerobot_dataset import LeRobotDataset\n\n"
        f'dataset = LeRobotDataset("{repo_id}")\n```\n'
    )
