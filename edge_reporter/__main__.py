"""`python -m edge_reporter`: same as the `edge-reporter` console script."""

from edge_reporter.main import main

raise SystemExit(main())
