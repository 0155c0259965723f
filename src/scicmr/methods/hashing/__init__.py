"""hashing methods."""
