"""``python -m snapconform.selftest``: a selftest worker process, one cell (what ``snapconform
selftest --jobs N`` starts; :func:`snapconform.selftest.worker.main`). A module of its own so that
running it does not import the worker module a second time as ``__main__``."""

import sys

from snapconform.selftest.worker import main

if __name__ == "__main__":
    sys.exit(main())
