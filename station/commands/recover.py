"""`station recover --root DIR`: save takes left in the spool by a crash, without a window."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from station.errors import DatasetError

EXIT_DONE = 0
EXIT_NOT_ALL_SAVED = 1
EXIT_CODES = """exit codes:
  0  every take found was saved (or there was nothing to recover)
  1  some take could not be saved: each is named, with why; its spool is kept for the next try
  2  there is no dataset at DIR, or it is in use or unreadable: nothing was changed"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("recover", help="save takes a crash left unsaved, and repair a half-done commit",
                       epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
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
        try:
            queue.job_saved.connect(lambda job: print(f"episode {job.episode} saved", flush=True))
            lines = recover_into_queue(writer, queue, keep_partial=args.keep_partial)
            for line in lines:
                print(line, flush=True)
            not_saved = [line for line in lines if line.startswith("could not recover")]
            if queue.pending_count:
                # Everything that can be saved is; a failed take blocks the ones after it (episode order is
                # recording order), so stop there rather than wait for ever for an idle queue.
                queue.idle.connect(app.quit)
                queue.stuck.connect(app.quit)
                app.exec()
            stuck = queue.stuck_on
            if stuck is not None:
                not_saved.append(f"could not save {stuck.spool_dir.name}: {stuck.error}")
                behind = queue.waiting_behind(stuck)
                if behind:
                    names = ", ".join(j.spool_dir.name for j in behind)
                    not_saved.append(f"not saved, waiting behind it: {names}")
        finally:
            queue.shutdown()
        if not lines:
            print(f"nothing to recover in {root}", flush=True)
        for line in not_saved:
            print(f"station: {line}", file=sys.stderr, flush=True)
        if not_saved:
            print(f"station: unsaved takes are kept in {root / '.station' / 'spool'}; "
                  "run `station recover` again once the cause is fixed", file=sys.stderr, flush=True)
            return EXIT_NOT_ALL_SAVED
        return EXIT_DONE
