"""CLI subcommands kept out of :mod:`scicmr.cli` (one module per area).

Each module exposes ``register(subparsers)`` that adds its parsers with ``set_defaults(func=…)``;
handlers take the parsed namespace, call the library and return an exit status. Like the rest of
the CLI they are a thin layer: the library never imports them.
"""
