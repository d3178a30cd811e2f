import sys

from station import stopping

stopping.defer()  # a Ctrl-C while starting up is remembered, never a traceback from the middle of an import

from station.cli import main  # noqa: E402

sys.exit(main())
