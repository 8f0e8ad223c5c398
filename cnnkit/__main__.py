"""``python -m cnnkit``; a Ctrl-C while torch is still importing ends with one line, too."""

import sys

try:
    from cnnkit.cli import main
except KeyboardInterrupt:
    print("\ninterrupted while starting", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
