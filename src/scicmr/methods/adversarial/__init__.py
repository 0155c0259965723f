"""adversarial methods."""
