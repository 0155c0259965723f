"""A worker catching up with another worker's serving-table writes (snapshot.caught_up)."""

from __future__ import annotations

import numpy as np

from scicmr.corpus.record import Record
from scicmr.workflow import serving
from scicmr.workflow.snapshot import build_snapshot, caught_up


def _records(n, seed=0):
    rng = np.random.default_rng(seed)
    records = [Record(id=f"r{i}", title=f"t{i}", text=f"c{i}", labels=["optics"]) for i in range(n)]
    vectors = {"image": rng.normal(size=(n, 8)).astype(np.float32), "text": rng.normal(size=(n, 8)).astype(np.float32)}
    return records, vectors


def test_a_record_deleted_and_added_again_elsewhere_kills_its_old_row_not_the_new_one(tmp_path):
    records, vectors = _records(10)
    table = serving.write_table(None, "cca", "v1", records, vectors, 0, folder=tmp_path / "serving")
    reader = build_snapshot(records, vectors, "exact", model_version="v1")  # worker B, read before the writes
    assert reader.n_rows == table.n_rows == 10

    # Worker A deletes r5 (row 5), then adds r5 again with new vectors (row 10).
    serving.delete_rows(table, ["r5"], 1, positions=[5])
    again = {m: np.random.default_rng(7).normal(size=(1, 8)).astype(np.float32) for m in vectors}
    serving.append_rows(table, [Record(id="r5", title="new", text="new", labels=["optics"])], again, 2)
    table = table.refresh()

    caught = caught_up(reader, table)
    assert caught.n_rows == 11
    assert not caught.live[5] and caught.live[10]  # the stale row is dead, the re-added one live
    assert len(caught) == 10 and caught.row_of("r5") == 10
    _, rows, _ = caught.top(again["image"], "image", 11)
    assert 5 not in rows[0] and rows[0][0] == 10
