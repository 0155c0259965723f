"""A Parquet export without pyarrow fails up front (an InputError naming the extra to install),
before the library is read and before any file is written, not after shard 0's vectors."""

from __future__ import annotations

import sys

import pytest

from scicmr.errors import InputError
from scicmr.workflow import export
from scicmr.workflow.export_embeddings import export_embeddings


@pytest.fixture()
def no_pyarrow(monkeypatch):
    for name in ("pyarrow", "pyarrow.parquet"):
        monkeypatch.setitem(sys.modules, name, None)  # `import pyarrow` raises ImportError


def test_embeddings_export_writes_nothing_without_pyarrow(trained_library_copy, tmp_path, no_pyarrow):
    with pytest.raises(InputError, match="pyarrow") as caught:
        export_embeddings(trained_library_copy, tmp_path / "emb")
    assert "scicmr[tables]" in caught.value.fix
    assert not (tmp_path / "emb").exists()  # no img_emb_0.npy left behind


def test_parquet_records_export_fails_before_reading_the_library(trained_library_copy, tmp_path, no_pyarrow,
                                                                  monkeypatch):
    def read(*args):
        raise AssertionError("the library was read before pyarrow was checked")

    monkeypatch.setattr(export, "record_row", read)
    with pytest.raises(InputError, match="pyarrow") as caught:
        export.export_records(trained_library_copy, tmp_path / "records.parquet", "parquet")
    assert "scicmr[tables]" in caught.value.fix and not list(tmp_path.glob("records*"))
