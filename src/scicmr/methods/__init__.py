"""Cross-modal methods behind a registry (see :mod:`scicmr.methods.registry`)."""

from scicmr.methods.registry import available_methods, create_method, load_method, method_class

__all__ = ["available_methods", "create_method", "load_method", "method_class"]
