import sys

from snapconform.cli import main

# guarded: a spawned worker process (selftest --jobs) imports this module again as __mp_main__
if __name__ == "__main__":
    sys.exit(main())
