"""`station recover --root DIR`: save takes left in the spool by a crash, without a window."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from station.errors import DatasetError


def add_parser(sub) -> None:
    p = sub.add_parser("recover", help="save takes a crash left unsaved, and repair a half-done commit")
    p.add_argument("--root", type=Path, required=True, help="the dataset directory")
    p.add_argument("--keep-partial", action="store_true",
                   help="also keep the take that was being recorded when the process died (default: drop it)")


def run(args: argparse.Namespace) -> int:
    from PySide6.QtCore import QCoreApplication

    from station.dataset.reader import DatasetReader
    from station.dataset.writer import DatasetWriter
    from station.saving.faults import writer_fault
    from station.saving.lock import DatasetLock
    from station.saving.queue import SaveQueue
    from station.saving.recovery import recover_into_queue

    root: Path = args.root
    if not (root / "meta" / "info.json").is_file():
        raise DatasetError(f"there is no dataset at {root}")
    with DatasetLock(root):
        spec = DatasetReader(root).spec()
        writer = DatasetWriter.open(root, spec, fault=writer_fault())
        app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
        queue = SaveQueue(writer)
        failures: list[str] = []
        queue.job_saved.connect(lambda job: print(f"episode {job.episode} saved", flush=True))
        queue.job_failed.connect(lambda job: failures.append(job.error))
        queue.job_failed.connect(lambda job: print(f"could not save {job.spool_dir.name}: {job.error}", flush=True))
        lines = recover_into_queue(writer, queue, keep_partial=args.keep_partial)
        for line in lines:
            print(line, flush=True)
        if queue.pending_count:
            queue.idle.connect(app.quit)
            app.exec()
        queue.shutdown()
        if not lines:
            print(f"nothing to recover in {root}", flush=True)
        return 1 if failures else 0
