"""``python -m mythos_review`` runs the ``mythos`` command."""

from mythos_review.cli import main

raise SystemExit(main())
