"""`station push ROOT`: upload a dataset to the Hugging Face Hub (resumable), tagged so LeRobot finds it."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from station.commands.asking import confirm
from station.commands.error_lines import print_error
from station.errors import DatasetError
from station.hub.errors import HubError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "push",
        help="upload a dataset to the Hugging Face Hub (resumable), tagged v3.0 for LeRobot",
        description="Upload a dataset to the Hugging Face Hub: creates the dataset repo if missing, uploads in "
        "resumable commits (run it again after an interruption), writes a dataset card and tags the commit with "
        "the codebase version as LeRobot does. The token comes from HF_TOKEN or `hf auth login`; HF_ENDPOINT "
        "selects another hub. Exits 0 when pushed, 1 when the Hub failed, 2 on bad input.",
    )
    p.add_argument("root", type=Path, metavar="ROOT", help="the dataset folder (the one holding meta/)")
    p.add_argument("--repo-id", dest="push_repo_id", metavar="USER/NAME",
                   help="the dataset repo on the Hub (default: your user name / the folder name)")
    p.add_argument("--private", action="store_true", help="create the repo private (an existing repo is unchanged)")
    p.add_argument("--branch", help="push to this branch (created from main if missing) instead of main")
    p.add_argument("--yes", action="store_true", help="ask nothing: pack the dataset first when it is not packed")


def run(args: argparse.Namespace) -> int:
    from huggingface_hub import constants, get_token
    from huggingface_hub.utils import disable_progress_bars
    from huggingface_hub.utils import logging as hf_logging

    from station.commands.pack import pack_locked
    from station.dataset.pack import excluded_episodes, pack_recommended
    from station.dataset.reader import load_info
    from station.dataset.repo_id import repo_id_problem
    from station.hub.errors import hub_problem
    from station.hub.push import push_dataset
    from station.saving.lock import DatasetLock

    root: Path = args.root
    load_info(root)  # not a dataset -> one line, exit 2
    if args.push_repo_id is not None and (problem := repo_id_problem(args.push_repo_id)):
        raise DatasetError(problem)
    token = get_token()
    if not token:
        raise HubError("no Hugging Face token: run `hf auth login` (or set HF_TOKEN) with a token that may write, "
                       "then push again")
    disable_progress_bars()
    if not getattr(args, "verbose", False):
        hf_logging.set_verbosity_error()
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    endpoint = constants.ENDPOINT
    repo_id = args.push_repo_id or "?"
    try:
        if args.push_repo_id is None:
            from huggingface_hub import HfApi

            repo_id = f"{HfApi(token=token).whoami()['name']}/{root.resolve().name}"
            if problem := repo_id_problem(repo_id):
                raise DatasetError(f"{problem}: give --repo-id")
        if pack_recommended(root):
            if args.yes or (sys.stdin.isatty() and confirm(f"{root} is not packed into LeRobot's few large files. "
                                                            "Pack it first?", default=True)):
                print(pack_locked(root).summary(), flush=True)
            else:
                excluded = len(excluded_episodes(root))
                also = f"; its {excluded} excluded episode(s) go too, as pack would leave them out" if excluded else ""
                print(f"pushing {root} as it is, not packed (pass --yes or run `station pack` to pack it "
                      f"first){also}", flush=True)

        def progress(files: int, total: int, done: int, size: int) -> None:
            print(f"uploading: {files}/{total} files, {done / 1e6:.1f}/{size / 1e6:.1f} MB", file=sys.stderr,
                  flush=True)

        with DatasetLock(root):
            result = push_dataset(root, repo_id, token, private=args.private, branch=args.branch,
                                  on_progress=progress)
    except Exception as e:
        line = hub_problem(e, repo_id, endpoint)
        if line is None:
            raise
        logging.getLogger(__name__).debug("push failed", exc_info=True)
        print_error("push", line)
        return 1
    print(result.summary(), flush=True)
    return 0
