"""TREC run and qrels files, for ``trec_eval`` and ``ranx``.

A run line is ``qid Q0 docid rank score tag`` (rank 1-based, scores descending within a query),
a qrels line ``qid 0 docid relevance``. Fields are separated by single spaces, so an id is
written with ``%`` as ``%25`` and whitespace as ``%XX`` (record ids may hold spaces); the
same escaping on both files keeps them matching.
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

import numpy as np

from scicmr.errors import InputError

_ESCAPED = re.compile(r"[%\s]")


def trec_id(text: str) -> str:
    """``text`` with ``%`` and whitespace percent-escaped: one whitespace-free TREC field."""
    if not text:
        raise InputError("a TREC query or document id cannot be empty")
    return _ESCAPED.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode("utf-8")), text)


def run_lines(qids: Sequence[str], docids: Sequence[str], top_index: np.ndarray, top_scores: np.ndarray,
              tag: str) -> Iterable[str]:
    """Run lines of ``qids[i]`` ranking ``docids[top_index[i, r]]`` at rank r + 1 with score
    ``top_scores[i, r]``; (q, k) arrays, best first (ties already broken by the ranking)."""
    top_index, top_scores = np.asarray(top_index), np.asarray(top_scores)
    if top_index.shape != top_scores.shape or top_index.ndim != 2 or len(top_index) != len(qids):
        raise InputError(f"top_index {top_index.shape} and top_scores {top_scores.shape} must be (q, k) for {len(qids)} queries")
    tag = trec_id(tag)
    docs = [trec_id(d) for d in docids]
    for qid, row, scores in zip(qids, top_index.tolist(), top_scores.tolist()):
        q = trec_id(qid)
        for rank, (j, score) in enumerate(zip(row, scores), start=1):
            yield f"{q} Q0 {docs[j]} {rank} {score:.9g} {tag}"


def qrels_lines(qids: Sequence[str], relevant: Sequence[Sequence[str]]) -> Iterable[str]:
    """Qrels lines: every id of ``relevant[i]`` relevant (1) to ``qids[i]``."""
    for qid, docs in zip(qids, relevant):
        q = trec_id(qid)
        for doc in docs:
            yield f"{q} 0 {trec_id(doc)} 1"


def parse_run(text: str) -> list[tuple[str, str, int, float, str]]:
    """(qid, docid, rank, score, tag) of each run line; InputError naming a malformed line."""
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if len(fields) != 6 or fields[1] != "Q0":
            raise InputError(f"run line {number} is not 'qid Q0 docid rank score tag': {line!r}")
        rows.append((fields[0], fields[2], int(fields[3]), float(fields[4]), fields[5]))
    return rows
