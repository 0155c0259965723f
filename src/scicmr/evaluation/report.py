"""Evaluation results for people: the headline metrics of evaluated models as a rich table.

The table is returned, not printed, so each caller (``scicmr evaluate``, ``scicmr demo``)
prints it on its own console. rich loads only when a table is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.table import Table


def metrics_table(documents: dict[str, dict[str, Any]], title: str = "") -> Table:
    """A rich Table of the i2t / t2i metrics of several evaluated models (name -> metrics document)."""
    from rich.table import Table

    first = next(iter(documents.values()))
    # The headline metrics; the JSON holds precision@k / recall@k too.
    keys = [k for k in first["i2t"] if k.startswith(("map", "mrr", "hits"))]
    table = Table(title=title)
    table.add_column("model")
    table.add_column("direction")
    for key in keys:
        table.add_column(key, justify="right")
    for name, document in documents.items():
        for direction in ("i2t", "t2i"):
            table.add_row(name, direction, *(f"{document[direction].get(key, float('nan')):.4f}" for key in keys))
    return table
