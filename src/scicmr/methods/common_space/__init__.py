"""common_space methods."""
