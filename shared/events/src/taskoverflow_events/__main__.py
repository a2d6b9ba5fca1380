"""`python -m taskoverflow_events` runs the topology bootstrap."""

import sys

from taskoverflow_events.bootstrap import main

sys.exit(main())
