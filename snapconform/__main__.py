import sys

from snapconform.cli import main

# guarded: importing this module runs nothing (only `python -m snapconform` does)
if __name__ == "__main__":
    sys.exit(main())
