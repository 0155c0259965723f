"""The training pairs of CARDL's text-encoder fine-tuning (:mod:`scicmr.encoders.finetune`).

- :func:`split_sentences` cuts a body into sentences (Latin and CJK full stops, newlines).
- :func:`pairs_from_records` gives (title, abstract) per paper and (caption, context) per
  figure from library records, with their labels and paper groups.
- :func:`build_units` forms the positives (anchor, one of its own sentences) and draws the
  negatives (a sentence of another paper, of another field when labels are known) with the
  numpy generator passed in.

Why these readings: see the docstring of :mod:`scicmr.encoders.finetune`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from scicmr.errors import InputError

_MIN_SENTENCE_CHARS = 3
_NEGATIVE_TRIES = 32  # rejection-sampling attempts for a negative from another field

# Sentence ends: Latin .!? followed by space, CJK full stops (no space follows them), newlines.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？；])|\n+")


# ---------------------------------------------------------------------------- pairs
def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` (Latin and CJK full stops, newlines); fragments under 3 chars dropped."""
    parts = (p.strip() for p in _SENTENCE_END.split(text or ""))
    return [p for p in parts if len(p) >= _MIN_SENTENCE_CHARS]


def pairs_from_records(records: Sequence[Any]) -> tuple[list[str], list[str], list[list[str]], list[str]]:
    """Fine-tuning pairs from library records (pass the TRAIN split only).

    One (title, body) per paper (records sharing ``group_key``): the body is
    ``extra["abstract"]`` when present, else the paper's captions joined. Every record with a
    citing ``context`` adds (caption, context). Records without a title give no title pair.

    Returns:
        (titles, bodies, labels, groups), four lists of equal length, for :meth:`fit_pairs`.
    """
    titles, bodies, labels, groups = [], [], [], []
    papers: dict[str, list[Any]] = {}
    for record in records:
        papers.setdefault(record.group_key, []).append(record)
        if record.context.strip() and record.text.strip():
            titles.append(record.text)
            bodies.append(record.context)
            labels.append(list(record.labels))
            groups.append(record.group_key)
    for group, members in papers.items():
        title = next((r.title for r in members if r.title.strip()), "")
        abstract = next((str(r.extra.get("abstract", "")) for r in members if r.extra.get("abstract")), "")
        body = abstract or "\n".join(r.text for r in members if r.text.strip())
        if title.strip() and body.strip():
            titles.append(title)
            bodies.append(body)
            labels.append(sorted({label for r in members for label in r.labels}))
            groups.append(group)
    return titles, bodies, labels, groups


@dataclass
class PairUnit:
    """One training unit: an anchor, its positive sentence, then its negative sentences."""

    anchor: str
    sentences: list[str]  # [positive, negative_1, ..., negative_k]


def build_units(
    titles: Sequence[str],
    bodies: Sequence[str],
    labels: Sequence[Sequence[str]] | None,
    groups: Sequence[str],
    *,
    max_pairs: int,
    negatives_per_positive: int,
    rng: np.random.Generator,
) -> list[PairUnit]:
    """Positives (title i, a sentence of body i), at most ``max_pairs`` of them (seeded sample),
    each with ``negatives_per_positive`` sentences of other groups (other fields if known)."""
    sentences = [split_sentences(b) for b in bodies]
    seen, positives = set(), []
    for i, sents in enumerate(sentences):
        for s in sents:
            if (titles[i], s) not in seen:
                seen.add((titles[i], s))
                positives.append((i, s))
    if not positives:
        raise InputError("no (title, sentence) pairs could be formed", fix="give titles with non-empty bodies")
    eligible = np.asarray([j for j, s in enumerate(sentences) if s])
    if len({groups[j] for j in eligible}) < 2:
        raise InputError(
            "negatives need sentences from at least two different papers (groups)",
            fix="fit on texts of several papers",
        )
    if len(positives) > max_pairs:
        keep = np.sort(rng.choice(len(positives), size=max_pairs, replace=False))
        positives = [positives[k] for k in keep]
    label_sets = [set(x) for x in labels] if labels is not None else None
    units = []
    for i, sentence in positives:
        negatives = []
        for _ in range(negatives_per_positive):
            j = _draw_negative(i, eligible, groups, label_sets, rng)
            negatives.append(sentences[j][int(rng.integers(len(sentences[j])))])
        units.append(PairUnit(anchor=titles[i], sentences=[sentence, *negatives]))
    return units


def _draw_negative(i, eligible, groups, label_sets, rng) -> int:
    """A paper index of another group, sharing no label with paper i when both are labelled."""
    fallback = None
    for _ in range(_NEGATIVE_TRIES):
        j = int(eligible[rng.integers(len(eligible))])
        if groups[j] == groups[i]:
            continue
        if label_sets is None or not label_sets[i] or not label_sets[j] or not (label_sets[i] & label_sets[j]):
            return j
        fallback = j if fallback is None else fallback
    if fallback is not None:
        return fallback  # every try shared a field: any other paper will do
    others = [int(j) for j in eligible if groups[j] != groups[i]]
    return others[int(rng.integers(len(others)))]
