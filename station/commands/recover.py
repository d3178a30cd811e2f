"""`station recover DIR` (or `--root DIR`): save takes left in the spool by a crash, without a window."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from station.commands.error_lines import print_error

EXIT_DONE = 0
EXIT_NOT_ALL_SAVED = 1
EXIT_CODES = """exit codes:
  0  every take found was saved (or there was nothing to recover)
  1  some take could not be saved: each is named, with why; its spool is kept for the next try
  2  DIR is not a dataset, or it is in use or unreadable: nothing was changed"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("recover", help="save takes a crash left unsaved, and repair a half-done commit",
                       epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dataset", nargs="?", type=Path, metavar="DIR", help="the dataset directory (or --root DIR)")
    p.add_argument("--root", type=Path, help="the dataset directory")
    p.add_argument("--keep-partial", action="store_true",
                   help="also keep the take that was being recorded when the process died (default: drop it)")


def run(args: argparse.Namespace) -> int:
    from PySide6.QtCore import QCoreApplication

    from station.dataset.reader import DatasetReader, require_dataset_folder
    from station.dataset.writer import DatasetWriter
    from station.errors import ConfigError
    from station.saving.faults import writer_fault
    from station.saving.lock import DatasetLock
    from station.saving.queue import SaveQueue
    from station.saving.recovery import recover_into_queue
    from station.saving.spool import list_spools

    if (args.root is None) == (args.dataset is None):
        raise ConfigError("give the dataset directory once: station recover DIR (or --root DIR)")
    root: Path = args.root or args.dataset
    require_dataset_folder(root)
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
            if queue.pending_count:
                # Everything that can be saved is; a failed take blocks the ones after it (episode order is
                # recording order), so stop there rather than wait for ever for an idle queue.
                queue.idle.connect(app.quit)
                queue.stuck.connect(app.quit)
                app.exec()
        finally:
            queue.shutdown()
        # What is still in the spool was not saved: say each one and why (its job's error, or what recovery said).
        jobs = {j.spool_dir: j for j in queue.jobs}
        stuck = queue.stuck_on
        not_saved: list[str] = []
        for path in list_spools(root):
            job = jobs.get(path)
            if job is not None and job.error:
                not_saved.append(f"could not save {path.name}: {job.error}")
            elif job is not None and stuck is not None:
                not_saved.append(f"not saved {path.name}: it waits behind {stuck.spool_dir.name}")
            else:
                said = next((line for line in lines if path.name in line), "")
                not_saved.append(said or f"not saved {path.name}")
        if not lines:
            print(f"nothing to recover in {root}", flush=True)
        for line in not_saved:
            print_error("recover", line)
        if not_saved:
            print_error("recover", f"unsaved takes are kept in {root / '.station' / 'spool'}; "
                        "run `station recover` again once the cause is fixed")
            return EXIT_NOT_ALL_SAVED
        return EXIT_DONE
