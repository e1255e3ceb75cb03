"""``python -m crawler`` is the same as the ``schoolwatch`` command."""

from crawler.cli import main

raise SystemExit(main())
