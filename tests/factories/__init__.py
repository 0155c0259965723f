"""Test data factories shared by the test packages (generated data only)."""
