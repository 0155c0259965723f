"""TREC run and qrels lines: the six and four whitespace-free fields trec_eval and ranx read."""

from __future__ import annotations

import numpy as np
import pytest

from scicmr.errors import InputError
from scicmr.evaluation.trec import parse_run, qrels_lines, run_lines, trec_id


def test_run_lines_have_six_fields_ranks_from_one_and_escaped_ids():
    lines = list(run_lines(["q 1", "q2"], ["a", "b c", "d"], np.array([[1, 0], [2, 1]]),
                           np.array([[0.9, 0.5], [0.25, -0.125]], dtype=np.float32), "my run"))
    assert lines == ["q%201 Q0 b%20c 1 0.899999976 my%20run", "q%201 Q0 a 2 0.5 my%20run",
                     "q2 Q0 d 1 0.25 my%20run", "q2 Q0 b%20c 2 -0.125 my%20run"]
    assert [r[:3] for r in parse_run("\n".join(lines))] == [("q%201", "b%20c", 1), ("q%201", "a", 2),
                                                             ("q2", "d", 1), ("q2", "b%20c", 2)]
    assert float(lines[0].split()[4]) == pytest.approx(0.9, abs=1e-7)  # float32 written exactly enough


def test_qrels_lines_and_bad_input():
    assert list(qrels_lines(["x", "y"], [["x"], ["a", "b"]])) == ["x 0 x 1", "y 0 a 1", "y 0 b 1"]
    assert trec_id("tab\there") == "tab%09here"
    with pytest.raises(InputError, match="Q0"):
        parse_run("q Q1 d 1 0.5 t")
    with pytest.raises(InputError, match="queries"):
        list(run_lines(["q"], ["a"], np.zeros((2, 1), int), np.zeros((2, 1)), "t"))
