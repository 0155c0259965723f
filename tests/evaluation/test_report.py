"""The metrics table the CLI and the demo print: returned, not printed, with the headline metrics."""

import io

from rich.console import Console
from rich.table import Table

from scicmr.evaluation.report import metrics_table


def test_metrics_table_returns_a_table_of_headline_metrics(capsys):
    documents = {
        "cca": {"i2t": {"map@5": 0.5, "precision@5": 0.1, "map": 0.25, "mrr": 0.3}, "t2i": {"map@5": 0.4, "map": 0.2}},
        "cardl": {"i2t": {"map@5": 0.6, "map": 0.35, "mrr": 0.9}, "t2i": {"map@5": 0.7, "map": 0.3, "mrr": 0.1}},
    }
    table = metrics_table(documents, title="72 queries")
    assert capsys.readouterr().out == ""
    assert isinstance(table, Table) and table.title == "72 queries"
    assert [c.header for c in table.columns] == ["model", "direction", "map@5", "map", "mrr"]
    assert table.row_count == 4
    out = io.StringIO()
    Console(file=out, width=100).print(table)
    rows = [line.split("│")[1:-1] for line in out.getvalue().splitlines() if line.startswith("│")]
    assert [[cell.strip() for cell in row] for row in rows] == [
        ["cca", "i2t", "0.5000", "0.2500", "0.3000"], ["cca", "t2i", "0.4000", "0.2000", "nan"],
        ["cardl", "i2t", "0.6000", "0.3500", "0.9000"], ["cardl", "t2i", "0.7000", "0.3000", "0.1000"]]
