import sys

from snapconform.cli import console_main

# guarded: importing this module runs nothing (only `python -m snapconform` does)
if __name__ == "__main__":
    sys.exit(console_main())
