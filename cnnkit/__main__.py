"""``python -m cnnkit``; a Ctrl-C while torch is still importing ends with one line, too. ``predict`` starts
preparing its files before torch is imported (``cnnkit.infer.preparing``)."""

import sys

try:
    if sys.argv[1:2] == ["predict"]:
        from cnnkit.infer.preparing import start_early

        start_early(sys.argv[2:])
    from cnnkit.cli import main
except KeyboardInterrupt:
    print("\ninterrupted while starting", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
