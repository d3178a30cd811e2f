"""station push against a local Hub on 127.0.0.1 (tests/hub_server.py): round trip, resume, errors, token."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import huggingface_hub
import pytest
from huggingface_hub import snapshot_download
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.utils import disable_progress_bars
from tqdm import tqdm

from station.cli import main
from station.commands.pack import pack_locked
from station.dataset.check import check_dataset
from station.dataset.pack import dataset_files
from station.dataset.spec import CameraSpec
from station.hub.errors import hub_problem
from station.hub.push import push_dataset
from tests.hub_server import TOKEN, Fault, HubServer
from tests.test_dataset_writer import spec_with, tree_digest, write_dataset
from tests.test_pack import assert_same, set_excluded, snapshot

# huggingface_hub's LFS upload passes a file as `data=`, which its HTTP client has deprecated.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>' to upload raw bytes:DeprecationWarning")

EPISODES = [(8, "pick the cube"), (12, "place the cube"), (6, "pick the cube")]
REPO = "tester/cubes"


@pytest.fixture
def hub(monkeypatch, tmp_path: Path):
    server = HubServer().start()
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    # No xet storage in the test Hub: huggingface_hub then uses the git LFS protocol, which it implements.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", server.url)
    monkeypatch.setattr(huggingface_hub.constants, "HUGGINGFACE_CO_URL_TEMPLATE",
                        server.url + "/{repo_id}/resolve/{revision}/{filename}")
    disable_progress_bars()
    monkeypatch.setattr(tqdm, "monitor_interval", 0)  # no monitor thread for snapshot_download's bars
    yield server
    server.stop()


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    root = tmp_path / "cubes"
    write_dataset(root, spec_with(cameras=(CameraSpec("front", 64, 48), CameraSpec("wrist", 32, 24))), EPISODES)
    return root


def download(hub: HubServer, dest: Path, revision: str = "v3.0") -> Path:
    return Path(snapshot_download(REPO, repo_type="dataset", revision=revision, local_dir=dest,
                                  endpoint=hub.url, token=TOKEN))


def local_digest(root: Path) -> dict[str, str]:
    return {k: v for k, v in tree_digest(root).items() if k != ".station/lock"}


def test_push_round_trips_through_the_hub(hub: HubServer, dataset: Path, tmp_path: Path):
    pack_locked(dataset)
    before = local_digest(dataset)
    result = push_dataset(dataset, REPO, TOKEN, endpoint=hub.url, max_files=2)
    assert result.commits >= 3  # several commits of at most 2 files, then the metadata one
    assert local_digest(dataset) == before  # nothing local changes
    remote = hub.files(REPO)
    local = {p.relative_to(dataset).as_posix() for p in dataset_files(dataset)}
    assert set(remote) == local | {"README.md", ".gitattributes"}  # no spool, no .station
    repo = hub.state.repos[REPO]
    assert repo.tags["v3.0"] == repo.branches["main"]
    card = remote["README.md"].decode()
    for words in ("- LeRobot", "robotics", "data/*/*.parquet", "so_follower", "| Episodes | 3 |", "| FPS | 30 |",
                  "- place the cube", "station 0.1.0"):
        assert words in card, words
    got = download(hub, tmp_path / "download")
    assert check_dataset(got) == []
    assert_same(snapshot(dataset), snapshot(got))


def test_an_interrupted_push_resumes_where_it_stopped(hub: HubServer, dataset: Path, tmp_path: Path):
    hub.state.faults.append(Fault("POST", r"/commit/", 500, skip=2))  # the third commit fails
    with pytest.raises(HfHubHTTPError) as failed:
        push_dataset(dataset, REPO, TOKEN, endpoint=hub.url, max_files=3)
    assert "server error (500)" in hub_problem(failed.value, REPO, hub.url)
    assert "v3.0" not in hub.state.repos[REPO].tags  # not tagged: LeRobot does not see a half-pushed dataset
    first_run = list(hub.state.lfs_uploaded)
    commits_before = hub.state.commit_count
    push_dataset(dataset, REPO, TOKEN, endpoint=hub.url, max_files=3)
    assert len(first_run) >= 6
    assert not [oid for oid, n in Counter(hub.state.lfs_uploaded).items() if n > 1]  # nothing sent twice
    assert hub.state.commit_count - commits_before < 1 + len(dataset_files(dataset)) // 3  # committed parts skipped
    assert check_dataset(download(hub, tmp_path / "dl")) == []


def test_push_after_pack_leaves_no_stale_files_on_the_hub(hub: HubServer, dataset: Path, tmp_path: Path):
    push_dataset(dataset, REPO, TOKEN, endpoint=hub.url)
    pack_locked(dataset)
    result = push_dataset(dataset, REPO, TOKEN, endpoint=hub.url)
    assert result.deleted > 0
    got = download(hub, tmp_path / "dl")
    assert sorted(p.relative_to(got).as_posix() for p in dataset_files(got)) == \
        sorted(p.relative_to(dataset).as_posix() for p in dataset_files(dataset))
    assert check_dataset(got) == []


def test_push_command_packs_first_with_yes_and_never_shows_the_token(hub, dataset, capsys):
    assert main(["push", str(dataset), "--repo-id", "lab/cubes", "--yes", "--branch", "fleet"]) == 0
    out = capsys.readouterr()
    assert "packed 3 episodes" in out.out and "pushed" in out.out and TOKEN not in out.out + out.err
    repo = hub.state.repos["lab/cubes"]
    assert repo.tags["v3.0"] == repo.branches["fleet"] != repo.branches["main"]
    assert len(list((dataset / "data").rglob("*.parquet"))) == 1


def test_push_command_defaults_the_repo_to_the_user_and_the_folder(hub, dataset, capsys):
    set_excluded(dataset, {1})
    assert main(["push", str(dataset)]) == 0  # not a terminal and no --yes: pushed as it is
    out = capsys.readouterr().out
    assert "as it is" in out and "1 excluded episode(s) go too" in out and "tester/cubes" in out
    assert len(list((dataset / "data").rglob("*.parquet"))) == 3


@pytest.mark.parametrize("status, words", [
    (401, "hf auth login"), (403, "write access"), (404, "not found"), (409, "changed by someone else"),
    (429, "wait a few minutes"), (500, "server error (500)"), (503, "server error (503)"),
])
def test_each_hub_error_is_one_plain_line_and_nothing_local_changes(hub, dataset, capsys, status, words):
    before = local_digest(dataset)
    hub.state.faults.append(Fault("POST", r"/commit/", status))
    assert main(["push", str(dataset), "--repo-id", REPO]) == 1
    err = [line for line in capsys.readouterr().err.strip().splitlines() if not line.startswith("uploading:")]
    assert len(err) == 1 and err[0].startswith("station push: ") and words in err[0], err
    assert local_digest(dataset) == before


def test_unreachable_hub_says_so(hub, dataset, capsys, monkeypatch):
    hub.stop()
    assert main(["push", str(dataset), "--repo-id", REPO]) == 1
    assert "cannot reach the Hub" in capsys.readouterr().err


def test_missing_token_gives_the_clear_line(hub, dataset, capsys, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    assert main(["push", str(dataset), "--repo-id", REPO]) == 2
    err = capsys.readouterr().err
    assert "no Hugging Face token" in err and "hf auth login" in err
    assert not hub.state.requests


def test_hf_endpoint_is_honoured_by_the_command(hub, dataset, tmp_path):
    env = dict(os.environ, HF_ENDPOINT=hub.url, HF_TOKEN=TOKEN, HF_HUB_DISABLE_XET="1",
               HF_HOME=str(tmp_path / "hf"))
    done = subprocess.run([sys.executable, "-m", "station", "push", str(dataset), "--repo-id", REPO, "--yes"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert TOKEN not in done.stdout + done.stderr
    assert "v3.0" in hub.state.repos[REPO].tags
