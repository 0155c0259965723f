"""``python -m scicmr`` runs the command line, as the ``scicmr`` script does."""

from scicmr.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
