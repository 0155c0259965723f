"""Records, the on-disk library, readers for sources, and splits."""
