"""The appendable chunked table: appends write only new rows, deletes are tombstones, compaction
drops them, a crash before the manifest commit leaves nothing visible."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from scicmr.corpus.table import ChunkedTable, is_table
from scicmr.errors import InputError, LibraryError


def _table(tmp_path, json_rows=False):
    return ChunkedTable.create(tmp_path / "t", {"vectors": ("float32", (4,)), "year": ("int64", ())},
                               json_rows=json_rows, meta={"model": "m1"})


def _rows(start, n):
    ids = [f"r{i}" for i in range(start, start + n)]
    vectors = np.arange(start * 4, (start + n) * 4, dtype=np.float32).reshape(n, 4)
    return ids, {"vectors": vectors, "year": np.arange(start, start + n)}


def test_appends_add_chunks_and_read_back_in_order(tmp_path):
    table = _table(tmp_path)
    assert len(table) == 0 and table.column("vectors").shape == (0, 4)
    for start, n in ((0, 3), (3, 2), (5, 4)):
        table.append(*_rows(start, n))
    table = table.refresh()
    assert table.ids() == [f"r{i}" for i in range(9)]
    np.testing.assert_array_equal(table.column("vectors"), np.arange(36, dtype=np.float32).reshape(9, 4))
    np.testing.assert_array_equal(table.column("year"), np.arange(9))
    np.testing.assert_array_equal(table.take("vectors", ["r7", "r1"]), [[28, 29, 30, 31], [4, 5, 6, 7]])
    assert len(table.chunk_names()) == 3 and table.meta == {"model": "m1"}


def test_an_append_writes_only_the_new_rows(tmp_path):
    table = _table(tmp_path)
    table.append(*_rows(0, 5))
    first = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "t").glob("c000001.*")}
    table.append(*_rows(5, 1))
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "t").glob("c000001.*")} == first
    assert sorted(p.name for p in (tmp_path / "t").glob("c000002.*")) == ["c000002.ids.json", "c000002.vectors.npy",
                                                                        "c000002.year.npy"]


def test_one_chunk_is_read_memory_mapped(tmp_path):
    table = _table(tmp_path)
    table.append(*_rows(0, 3))
    assert isinstance(table.refresh().column("vectors"), np.memmap)


def test_deletes_are_tombstones_until_compaction(tmp_path):
    table = _table(tmp_path)
    table.append(*_rows(0, 4))
    table.append(*_rows(4, 4))
    assert table.delete(["r1", "r6", "missing"]) == 2
    table = table.refresh()
    assert table.ids() == ["r0", "r2", "r3", "r4", "r5", "r7"] and table.n_rows == 8
    np.testing.assert_array_equal(table.deleted_rows, [1, 6])
    np.testing.assert_array_equal(table.column("year"), [0, 2, 3, 4, 5, 7])
    before = table.compactions
    assert table.compact()
    table = table.refresh()
    assert table.n_rows == 6 and table.deleted_rows.size == 0 and table.compactions == before + 1
    assert table.ids() == ["r0", "r2", "r3", "r4", "r5", "r7"]
    np.testing.assert_array_equal(table.column("year"), [0, 2, 3, 4, 5, 7])
    assert len(list((tmp_path / "t").glob("c*.ids.json"))) == 1
    assert not table.compact()  # nothing left to do


def test_an_id_appended_twice_is_deleted_whole_and_compacted_to_its_last_row(tmp_path):
    table = _table(tmp_path)
    table.append(*_rows(0, 3))
    _, arrays = _rows(7, 1)
    table.append(["r1"], arrays)  # r1 again, with r7's values
    table.compact()
    table = table.refresh()
    assert table.ids() == ["r0", "r2", "r1"]
    np.testing.assert_array_equal(table.column("year"), [0, 2, 7])
    table.append(["r0"], arrays)
    assert table.delete(["r0"]) == 2 and table.refresh().ids() == ["r2", "r1"]


def test_json_rows_travel_with_their_rows(tmp_path):
    table = _table(tmp_path, json_rows=True)
    ids, arrays = _rows(0, 3)
    table.append(ids, arrays, [["a"], [], ["b", "c"]])
    table.delete(["r1"])
    table.compact()
    assert table.refresh().json_rows() == [["a"], ["b", "c"]]
    with pytest.raises(InputError, match="JSON value per row"):
        table.append(*_rows(3, 1))


def test_bad_appends_name_the_problem(tmp_path):
    table = _table(tmp_path)
    ids, arrays = _rows(0, 2)
    with pytest.raises(InputError, match="must be"):
        table.append(ids, {**arrays, "vectors": np.zeros((2, 5))})
    with pytest.raises(InputError, match="columns"):
        table.append(ids, {"vectors": arrays["vectors"]})
    assert len(table.refresh()) == 0


def test_a_chunk_written_but_not_committed_is_invisible_and_swept(tmp_path):
    table = _table(tmp_path)
    table.append(*_rows(0, 2))
    # What a process killed between the chunk files and the manifest leaves behind.
    script = ("import numpy as np, sys; sys.path.insert(0, sys.argv[2]);"
              "from scicmr.corpus.table import ChunkedTable;"
              "t = ChunkedTable.open(sys.argv[1]);"
              "t.append(['x1'], {'vectors': np.ones((1, 4), np.float32), 'year': np.zeros(1, np.int64)})")
    src = os.path.join(os.path.dirname(__file__), "..", "..", "src")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "t"), src],
                          env={**os.environ, "SCICMR_CRASH_AT": "table.chunk_written"})
    assert done.returncode == -9
    table = table.refresh()
    assert table.ids() == ["r0", "r1"]
    assert (tmp_path / "t" / "c000002.ids.json").exists()  # the orphan is there, unread
    table.delete(["r0"])
    table.compact()
    files = sorted(p.name for p in (tmp_path / "t").glob("c*"))
    assert all("x1" not in (tmp_path / "t" / f).read_text() for f in files if f.endswith(".json"))
    assert len(files) == 3 and table.refresh().ids() == ["r1"]


def test_a_damaged_manifest_or_chunk_is_a_library_error(tmp_path):
    table = _table(tmp_path)
    table.append(*_rows(0, 2))
    chunk = tmp_path / "t" / "c000001.vectors.npy"
    chunk.write_bytes(chunk.read_bytes()[:90])
    with pytest.raises(LibraryError, match="damaged"):
        table.refresh().column("vectors")
    (tmp_path / "t" / "table.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(LibraryError, match="damaged"):
        ChunkedTable.open(tmp_path / "t")
    assert is_table(tmp_path / "t") and not is_table(tmp_path / "nothing")
