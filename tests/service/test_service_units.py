"""Pieces of the service without HTTP: the snapshot's ranking and filters against a slow
reference, copy-on-write updates, safe path resolution, metrics text, settings."""

from __future__ import annotations

import numpy as np
import pytest

from scicmr.corpus.record import Record
from scicmr.errors import InputError
from scicmr.workflow.snapshot import Filters, build_snapshot, extended, without
from scicmr.service.media import resolve_inside
from scicmr.service.middleware import Metrics
from scicmr.service.settings import Settings


def _records(n, seed=0):
    rng = np.random.default_rng(seed)
    fields = ["optics", "genomics", "climate"]
    records = [Record(id=f"r{i}", title=f"t{i}", text=f"c{i}", labels=[fields[i % 3]],
                      authors=[f"Author {i % 5}", "Shared Person"] if i % 2 else [f"Author {i % 5}"],
                      date=str(2000 + int(rng.integers(0, 20))) if i % 7 else None) for i in range(n)]
    vectors = {"image": rng.normal(size=(n, 8)).astype(np.float32), "text": rng.normal(size=(n, 8)).astype(np.float32)}
    return records, vectors


def _slow_rank(records, vectors, query, keep, k, offset):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    q = query / np.linalg.norm(query)
    rows = [(-float(unit[i] @ q), i) for i, r in enumerate(records) if keep(r)]
    return [i for _, i in sorted(rows)][offset: offset + k]


@pytest.mark.parametrize("kind", ["exact", "flat"])
@pytest.mark.parametrize("filters, keep", [
    (Filters(), lambda r: True),
    (Filters(labels=("GENOMICS",)), lambda r: "genomics" in r.labels),
    (Filters(year_min=2005, year_max=2012), lambda r: r.year is not None and 2005 <= r.year <= 2012),
    (Filters(year_max=2010), lambda r: r.year is not None and r.year <= 2010),
    (Filters(author="shared"), lambda r: "Shared Person" in r.authors),
    (Filters(labels=("optics", "climate"), author="author 3"),
     lambda r: set(r.labels) & {"optics", "climate"} and "Author 3" in r.authors),
])
def test_rank_matches_a_slow_reference(kind, filters, keep):
    records, vectors = _records(200)
    snapshot = build_snapshot(records, vectors, kind)
    query = np.random.default_rng(5).normal(size=(1, 8)).astype(np.float32)
    for k, offset in ((10, 0), (7, 5), (50, 180)):
        hits, total = snapshot.rank(query, "image", k, offset, filters)
        assert total == sum(bool(keep(r)) for r in records)
        assert [p for p, _ in hits] == _slow_rank(records, vectors["image"], query[0], keep, k, offset)


def test_copy_on_write_updates_equal_a_rebuild_and_leave_the_old_snapshot_alone():
    records, vectors = _records(60)
    old = build_snapshot(records[:50], {m: v[:50] for m, v in vectors.items()}, "flat")
    query = vectors["text"][55:56]
    before = old.rank(query, "image", 10, 0, Filters())
    grown = extended(old, records[50:], {m: v[50:] for m, v in vectors.items()})
    rebuilt = build_snapshot(records, vectors, "flat")
    assert grown.version == 1 and grown.ids == rebuilt.ids
    assert grown.rank(query, "image", 10, 0, Filters(author="shared")) == rebuilt.rank(query, "image", 10, 0, Filters(author="shared"))
    assert old.rank(query, "image", 10, 0, Filters()) == before and len(old) == 50
    shrunk = without(grown, ["r3", "r55"])
    assert len(shrunk) == 58 and "r55" not in shrunk.position and shrunk.version == 2
    keep = [r for r in records if r.id not in ("r3", "r55")]
    reference = build_snapshot(keep, {m: v[[i for i, r in enumerate(records) if r.id not in ("r3", "r55")]]
                                      for m, v in vectors.items()}, "exact")
    got, total = shrunk.rank(query, "text", 20, 0, Filters())
    want, _ = reference.rank(query, "text", 20, 0, Filters())
    assert total == 58
    assert [shrunk.ids[p] for p, _ in got] == [reference.ids[p] for p, _ in want]


def test_an_add_after_a_delete_keeps_the_dead_rows_dead():
    records, vectors = _records(60)
    shrunk = without(build_snapshot(records[:50], {m: v[:50] for m, v in vectors.items()}, "flat"), ["r3"])
    grown = extended(shrunk, records[50:], {m: v[50:] for m, v in vectors.items()})
    assert len(grown) == 59 and grown.n_rows == 60 and "r3" not in grown.position
    keep = [i for i, r in enumerate(records) if r.id != "r3"]
    reference = build_snapshot([records[i] for i in keep], {m: v[keep] for m, v in vectors.items()}, "exact")
    query = vectors["text"][3:4]
    got, total = grown.rank(query, "image", 20, 0, Filters())
    want, _ = reference.rank(query, "image", 20, 0, Filters())
    assert total == 59 and [grown.ids[p] for p, _ in got] == [reference.ids[p] for p, _ in want]


def test_empty_snapshot_ranks_nothing():
    snapshot = build_snapshot([], {"image": np.zeros((0, 4), np.float32), "text": np.zeros((0, 4), np.float32)}, "exact")
    assert snapshot.rank(np.ones((1, 4), np.float32), "text", 5, 0, Filters()) == ([], 0)
    assert snapshot.rank(np.ones((1, 4), np.float32), "text", 5, 0, Filters(author="x")) == ([], 0)


def test_resolve_inside_refuses_escapes(tmp_path):
    root = tmp_path / "lib"
    (root / "images").mkdir(parents=True)
    (root / "images" / "a.png").write_bytes(b"x")
    (tmp_path / "secret.txt").write_text("s")
    (root / "images" / "link.png").symlink_to(tmp_path / "secret.txt")
    assert resolve_inside([root], "images/a.png") == (root / "images" / "a.png").resolve()
    for bad in ("../secret.txt", "images/../../secret.txt", str(tmp_path / "secret.txt"), "images/link.png",
                "images", "", None, "images/a.png\x00.txt", "images/missing.png"):
        assert resolve_inside([root], bad) is None, bad
    assert resolve_inside([root, tmp_path], str(tmp_path / "secret.txt")) is not None


def test_metrics_text_format():
    metrics = Metrics(buckets=(0.01, 0.1))
    for seconds in (0.005, 0.05, 0.5):
        metrics.observe("GET", "/api/search", 200, seconds)
    metrics.observe("GET", 'odd"route', 404, 0.001)
    text = metrics.render({"scicmr_indexed_records": ("Records.", 3)})
    assert 'scicmr_http_requests_total{method="GET",route="/api/search",status="200"} 3' in text
    assert 'route="odd\\"route"' in text
    assert 'scicmr_http_request_duration_seconds_bucket{method="GET",route="/api/search",le="0.01"} 1' in text
    assert 'scicmr_http_request_duration_seconds_bucket{method="GET",route="/api/search",le="0.1"} 2' in text
    assert 'scicmr_http_request_duration_seconds_bucket{method="GET",route="/api/search",le="+Inf"} 3' in text
    assert 'scicmr_http_request_duration_seconds_sum{method="GET",route="/api/search"} 0.555000' in text
    assert "# TYPE scicmr_indexed_records gauge\nscicmr_indexed_records 3" in text


def test_settings_from_env(tmp_path):
    env = {"SCICMR_LIBRARY": str(tmp_path), "MY_KEY": "k" * 12, "SCICMR_MAX_K": "25"}
    settings = Settings.from_env(env, api_key_env="MY_KEY")
    assert settings.max_k == 25 and settings.writes_enabled and "k" * 12 not in repr(settings)
    assert not Settings.from_env(env).writes_enabled
    assert Settings.from_env(env, max_k=7).max_k == 7
    with pytest.raises(InputError, match="no library"):
        Settings.from_env({})
    with pytest.raises(InputError, match="not an integer"):
        Settings.from_env({**env, "SCICMR_MAX_K": "many"})
    with pytest.raises(InputError, match="positive integer"):
        Settings(library=tmp_path, max_k=0)
    with pytest.raises(InputError, match="shorter than 8"):
        Settings(library=tmp_path, api_key="short")


@pytest.mark.parametrize("kind", ["hamming-flat", "hamming-ivf"])
def test_hashing_snapshot_ranks_by_hamming_distance_and_survives_a_write(kind):
    from scicmr.hashing import hamming_distances, pack_codes

    records, vectors = _records(60)
    snapshot = build_snapshot(records[:50], {m: v[:50] for m, v in vectors.items()}, kind)
    grown = extended(snapshot, records[50:], {m: v[50:] for m, v in vectors.items()})
    assert grown.index_kind == "hamming-flat"  # approximate kinds are rebuilt as exact Hamming
    query = np.random.default_rng(7).normal(size=(1, 8)).astype(np.float32)
    hits, total = grown.rank(query, "image", 12, 0, Filters())
    distances = hamming_distances(pack_codes(query), pack_codes(vectors["image"]))[0]
    want = sorted(range(60), key=lambda p: (distances[p], p))[:12]  # distance, then row
    assert total == 60 and [p for p, _ in hits] == want
    assert [s for _, s in hits] == [1 - 2 * distances[p] / 8 for p in want]


def test_hashing_snapshot_reranks_a_hamming_shortlist_by_cosine_after_writes():
    from scicmr.hashing import hamming_distances, pack_codes

    records, vectors = _records(60)
    grown = extended(build_snapshot(records[:50], {m: v[:50] for m, v in vectors.items()}, "hamming-flat", rerank=9),
                     records[50:], {m: v[50:] for m, v in vectors.items()})
    assert grown.rerank == 9
    query = np.random.default_rng(8).normal(size=(1, 8)).astype(np.float32)
    hits, _ = grown.rank(query, "text", 4, 0, Filters())
    distances = hamming_distances(pack_codes(query), pack_codes(vectors["text"]))[0]
    shortlist = sorted(range(60), key=lambda p: (distances[p], p))[:9]
    unit = vectors["text"] / np.linalg.norm(vectors["text"], axis=1, keepdims=True)
    cosine = unit @ (query[0] / np.linalg.norm(query[0]))
    want = sorted(shortlist, key=lambda p: (-cosine[p], p))[:4]
    assert [p for p, _ in hits] == want
    np.testing.assert_allclose([s for _, s in hits], cosine[want], rtol=1e-5)


def test_rerank_setting_is_checked():
    from scicmr.errors import InputError
    from scicmr.service.settings import Settings

    assert Settings.from_env({"SCICMR_RERANK": "50"}, library="lib").rerank == 50
    with pytest.raises(InputError, match="rerank"):
        Settings(library="lib", rerank=0)


def test_batched_top_equals_one_query_at_a_time():
    records, vectors = _records(80)
    snapshot = build_snapshot(records, vectors, "flat")
    queries = np.random.default_rng(9).normal(size=(4, 8)).astype(np.float32)
    for filters in (Filters(), Filters(labels=("climate",), year_min=2004)):
        scores, positions, total = snapshot.top(queries, "text", 9, filters)
        for row, query in enumerate(queries):
            page, one_total = snapshot.rank(query[None, :], "text", 9, 0, filters)
            assert total == one_total and [p for p, _ in page] == positions[row].tolist()
            np.testing.assert_allclose([s for _, s in page], scores[row], atol=1e-6)


def test_the_service_uses_only_the_workflow_corpus_and_errors():
    """The service is a layer over public workflow API: no index, hashing, encoders or
    methods imports, nothing private of another package."""
    import ast
    from pathlib import Path

    import scicmr.service

    allowed = ("scicmr.service", "scicmr.workflow", "scicmr.corpus", "scicmr.errors")
    found = []
    for path in Path(scicmr.service.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("scicmr"):
                module, names = node.module, [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                module, names = next((a.name for a in node.names if a.name.startswith("scicmr")), ""), []
            else:
                continue
            if (module == "scicmr" and names == ["__version__"]) or module == "scicmr._faults":
                continue  # the version, and the fault suite's crash points (shared bottom layer)
            private = [p for p in module.split(".") + names if p.startswith("_")]
            if module and (not module.startswith(allowed) or (private and not module.startswith("scicmr.service"))):
                found.append(f"{path.name}: {module} {names}")
    assert found == []
