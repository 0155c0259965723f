"""Bad Milvus build options are InputErrors naming the key, found before any connection (no
pymilvus needed: these run without the milvus extra)."""

from __future__ import annotations

import pytest

from scicmr.errors import InputError
from scicmr.index import milvus_index
from scicmr.index.milvus_index import MilvusIndex
from scicmr.workflow import build_index


@pytest.fixture()
def no_connection(monkeypatch):
    def refuse():
        raise AssertionError("Milvus was reached before the parameters were checked")

    monkeypatch.setattr(milvus_index, "import_pymilvus", refuse)


@pytest.mark.parametrize(("params", "named"), [
    ({"index_type": "HNSW"}, "--kind"),
    ({"uri": "http://localhost:19530"}, "--milvus-uri"),
    ({"milvus_uri": "http://localhost:19530"}, "--milvus-uri"),
    ({"collection": "mine"}, "collection"),
    ({"model": "cca"}, "--model"),
    ({"lib": "elsewhere"}, "lib="),
    ({"M": 32}, "M="),
])
def test_a_param_milvus_builds_do_not_take_names_the_valid_ones(trained_library_source, no_connection, params, named):
    with pytest.raises(InputError, match=next(iter(params))) as caught:
        build_index(trained_library_source, kind="hnsw", backend="milvus", params=params)
    assert named in str(caught.value)
    assert "build_params" in caught.value.fix and "search_params" in caught.value.fix
    assert not (trained_library_source / "indexes" / "milvus.db").exists()


@pytest.mark.parametrize("params", [{"build_params": "M=32"}, {"search_params": 128},
                                    {"build_params": {"M": [32]}}])
def test_milvus_options_that_are_not_a_mapping_of_values_are_input_errors(trained_library_source, no_connection, params):
    name = next(iter(params))
    with pytest.raises(InputError, match=name) as caught:
        build_index(trained_library_source, kind="hnsw", backend="milvus", params=params)
    assert "{" in caught.value.fix


@pytest.mark.parametrize(("params", "match"), [
    ({"index_type": "NOPE"}, "index_type 'NOPE'"),
    ({"build_params": "M=32"}, "build_params"),
    ({"search_params": ["ef", 128]}, "search_params"),
    ({"collection": ""}, "collection"),
])
def test_milvus_index_checks_its_params_before_connecting(tmp_path, no_connection, params, match):
    with pytest.raises(InputError, match=match):
        MilvusIndex(8, uri=str(tmp_path / "m.db"), **params)
    MilvusIndex(8, uri=str(tmp_path / "m.db"), index_type="HNSW", build_params={"M": 16}, search_params={"ef": 64})
