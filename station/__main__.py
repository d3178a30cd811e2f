import sys

from station.launch import main

sys.exit(main())
