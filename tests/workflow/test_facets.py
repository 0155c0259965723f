"""facet_counts against a brute-force count over the records."""

from __future__ import annotations

from collections import Counter

import numpy as np

from scicmr.corpus.record import Record
from scicmr.workflow.facets import facet_counts
from scicmr.workflow.snapshot import Filters, build_snapshot, without


def _records(n=40, seed=0):
    rng = np.random.default_rng(seed)
    fields, names = ["genomics", "Climate", "astronomy", "physics"], ["Ada Lovelace", "Alan Turing", "Emmy Noether"]
    return [Record(id=f"r{i}", text=f"caption {i}", images=[f"images/r{i}.png"],
                   labels=list(rng.choice(fields, size=rng.integers(0, 3), replace=False)),
                   authors=list(rng.choice(names, size=rng.integers(0, 3), replace=False)),
                   date=str(2000 + int(rng.integers(0, 6))) if rng.random() < 0.8 else None)
            for i in range(n)]


def _reference(records, filters, top):
    def passes(r):
        if filters.year_min is not None and (r.year is None or r.year < filters.year_min):
            return False
        if filters.year_max is not None and (r.year is None or r.year > filters.year_max):
            return False
        if filters.labels and not {x.lower() for x in r.labels} & {x.lower() for x in filters.labels}:
            return False
        return not filters.author or any(filters.author.lower() in a.lower() for a in r.authors)

    kept = [r for r in records if passes(r)]
    labels = Counter(x.lower() for r in kept for x in set(r.labels))
    authors = Counter(a.lower() for r in kept for a in set(r.authors))
    ordered = lambda c: sorted(c.items(), key=lambda item: (-item[1], item[0]))[:top]  # noqa: E731
    return len(kept), ordered(labels), sorted(Counter(r.year for r in kept if r.year).items()), ordered(authors)


def test_facet_counts_match_a_brute_force_count():
    records = _records()
    vectors = {m: np.eye(len(records), 8, dtype=np.float32) + 0.1 for m in ("image", "text")}
    snapshot = build_snapshot(records, vectors, "flat")
    for filters in (Filters(), Filters(year_min=2002), Filters(labels=("climate",)),
                    Filters(author="turing", year_max=2004), Filters(year_min=2999)):
        for top in (2, 12):
            got = facet_counts(snapshot, filters, top)
            assert (got.total, got.labels, got.years, got.authors) == _reference(records, filters, top)


def test_deleted_records_are_not_counted():
    records = _records()
    vectors = {m: np.eye(len(records), 8, dtype=np.float32) + 0.1 for m in ("image", "text")}
    snapshot = without(build_snapshot(records, vectors, "flat"), ["r0", "r1", "r2"])
    got = facet_counts(snapshot)
    assert (got.total, got.labels, got.years, got.authors) == _reference(records[3:], Filters(), 12)
