"""Record validation: the one check every reader, the service's write path and the library's
decoding use. A record that passes can be stored (JSON in SQLite, UTF-8) and served; anything
else is an InputError naming the field -- never a crash later (a bad date used to brick the
service at startup and crash training).

Property tests generate arbitrary values (unicode with surrogates, zero-width and RTL
characters, emoji, huge numbers, NaN/inf, wrong types, nested objects) and check that each
becomes either a valid record or an InputError with a reason.
"""

from __future__ import annotations

import json
import math
import sqlite3
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scicmr.corpus.library import Library, UnreadableRecordWarning
from scicmr.corpus.record import ID_FORBIDDEN, Record, Source, is_visible, parse_date
from scicmr.errors import InputError

PROPERTY = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

# ----------------------------------------------------------------------------- strategies
#: Text that stresses encoders: lone surrogates, zero-width, RTL, combining marks, emoji.
NASTY_CHARS = st.sampled_from(["\ud800", "\udfff", "\u200b", "\u200d", "\ufeff", "\u202e", "\u0301",
                               "\U0001F600", "/", "\x00", "\n", " ", "²", "٣", "a", "0", "-", "中"])
NASTY_TEXT = st.one_of(st.text(max_size=20), st.lists(NASTY_CHARS, max_size=8).map("".join))
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=-10**30, max_value=10**30),
                    st.floats(allow_nan=True, allow_infinity=True), NASTY_TEXT)
JSON_VALUES = st.recursive(SCALARS, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(NASTY_TEXT, children, max_size=4)), max_leaves=12)
FIELD_NAMES = ["id", "kind", "title", "text", "keywords", "authors", "date", "labels", "images", "source",
               "group", "context", "extra", "unknown"]


def _storable(record: Record) -> None:
    """What a valid record guarantees: UTF-8 JSON without NaN, and an identical round trip."""
    body = json.dumps(record.to_dict(), ensure_ascii=False, allow_nan=False).encode("utf-8")
    again = Record.from_dict(json.loads(body))
    assert again.to_dict() == record.to_dict()
    assert record.year is None or 1 <= record.year <= 9999


# ----------------------------------------------------------------------------- dates (defect 1)
@pytest.mark.parametrize("date", ["²⁰²⁰", "２０２０", "٢٠٢٠", "2020-13-01", "2021-02-30", "20201", "0000", "soon",
                                  "2020/05/04", float("nan"), float("inf"), True, [2020], {"y": 2020}])
def test_record_refuses_a_date_that_is_not_a_year_or_iso_date(date):
    with pytest.raises(InputError, match="date") as info:
        Record(id="r1", text="caption", date=date)
    assert info.value.fix and "YYYY" in info.value.fix


@pytest.mark.parametrize(("given_date", "stored", "year"), [
    ("2020", "2020", 2020), (" 2021-05-04 ", "2021-05-04", 2021), ("1999-02", "1999-02", 1999),
    (2019, "2019", 2019), (2018.0, "2018", 2018), ("2017.0", "2017", 2017),
    ("2016-01-02T10:00:00", "2016-01-02", 2016), ("", None, None), (None, None, None)])
def test_record_keeps_years_and_iso_dates(given_date, stored, year):
    record = Record(id="r1", text="caption", date=given_date)
    assert record.date == stored and record.year == year


def test_year_never_raises_on_an_old_unvalidated_date():
    record = Record(id="r1", text="caption")
    record.date = "²⁰²⁰"  # what an older scicmr may have stored: not re-validated by .year
    assert record.year is None


@given(st.one_of(NASTY_TEXT, SCALARS))
@PROPERTY
def test_parse_date_gives_an_ascii_date_or_an_input_error(value):
    try:
        parsed = parse_date(value)
    except InputError as exc:
        assert "date" in exc.problem
        return
    assert parsed is None or (parsed.isascii() and parsed[:4].isdigit())


# ----------------------------------------------------------------------------- ids and text (defects 2, 3)
@pytest.mark.parametrize("record_id", ["a/b", "/", "x/", "\ud800", "id\ud800", "tab\there", " lead", "trail ",
                                       "", "   ", "x" * 513])
def test_record_refuses_ids_the_library_or_http_cannot_handle(record_id):
    with pytest.raises(InputError, match="record id"):
        Record(id=record_id, text="caption")


def test_id_with_a_slash_names_the_allowed_characters():
    with pytest.raises(InputError) as info:
        Record(id="paper/fig1", text="caption")
    assert "may hold" in info.value.problem and "'/'" in info.value.problem and "/" in ID_FORBIDDEN


@pytest.mark.parametrize("record_id", ["fig-1", "paper 2 fig.3", "图1", "a:b@c+d", "مرحبا", "ok\u200bzero"])
def test_record_accepts_printable_ids(record_id):
    assert Record(id=record_id, text="caption").id == record_id


@pytest.mark.parametrize("field", ["title", "text", "context", "group"])
def test_record_refuses_a_lone_surrogate_in_text(field):
    with pytest.raises(InputError, match="surrogate"):
        Record(id="r1", **{field: "caption \ud800 here"})


@pytest.mark.parametrize("blank", ["\u200b", "\u200b\u200c\u200d\u2060\ufeff", " \u200b\n\t", "\u3164", "\u00ad"])
def test_zero_width_only_text_counts_as_empty(blank):
    assert not is_visible(blank)
    record = Record(id="r1", title=blank, text=blank, context=blank)
    assert record.title == record.text == record.context == ""


@pytest.mark.parametrize("text", ["a", "\u200bx", "中", "\U0001F600", "\u202eabc"])
def test_visible_text_is_kept(text):
    assert is_visible(text) and Record(id="r1", text=text).text == text


@pytest.mark.parametrize(("field", "value"), [
    ("keywords", "not a list"), ("labels", [1, 2]), ("authors", [{"name": "x"}]), ("images", [None]),
    ("extra", {"score": float("nan")}), ("extra", {"deep": [{"x": float("inf")}]}), ("extra", {"k": "\udc80"}),
    ("extra", {"\ud800": 1}), ("extra", "text"), ("title", 3), ("kind", "video")])
def test_record_refuses_wrong_types_and_values_json_cannot_hold(field, value):
    with pytest.raises(InputError):
        Record(id="r1", text="caption", **{field: value})


@pytest.mark.parametrize("source", [{"page": float("inf")}, {"page": -1}, {"page": "3"}, {"page": True},
                                    {"bbox": [0, 0, 1]}, {"bbox": [0, 0, 1, float("nan")]}, {"bbox": "0,0,1,1"},
                                    {"file": "\ud800.pdf"}, "p.pdf"])
def test_source_refuses_bad_pages_and_boxes(source):
    with pytest.raises(InputError):
        Record.from_dict({"id": "r1", "text": "caption", "source": source})


def test_deeply_nested_extra_is_checked_without_recursion_error():
    deep: object = "ok"
    for _ in range(5000):
        deep = [deep]
    assert Record(id="r1", text="caption", extra={"deep": deep}).extra["deep"] is deep


# ----------------------------------------------------------------------------- properties
@given(st.dictionaries(st.sampled_from(FIELD_NAMES), JSON_VALUES, max_size=8), st.text(min_size=1, max_size=8))
@PROPERTY
def test_from_dict_of_arbitrary_json_is_a_valid_record_or_an_input_error(data, fallback_id):
    data.setdefault("id", fallback_id)
    try:
        record = Record.from_dict(data)
    except InputError as exc:
        assert exc.problem
        return
    _storable(record)


@given(record_id=NASTY_TEXT, title=NASTY_TEXT, text=NASTY_TEXT, date=SCALARS,
       labels=st.lists(NASTY_TEXT, max_size=3), extra=st.dictionaries(NASTY_TEXT, JSON_VALUES, max_size=3),
       page=SCALARS)
@PROPERTY
def test_record_of_arbitrary_fields_is_valid_or_an_input_error(record_id, title, text, date, labels, extra, page):
    try:
        record = Record(id=record_id, title=title, text=text, date=date, labels=labels, extra=extra,
                        source=Source(page=page))
    except InputError as exc:
        assert exc.problem
        return
    _storable(record)
    assert "/" not in record.id and record.id == record.id.strip()


# ----------------------------------------------------------------------------- stored rows (defect 1)
def _store_raw(lib: Library, rows: list[tuple[str, dict]]) -> None:
    """Write bodies straight into records.sqlite, as an older scicmr or a hand edit might have."""
    with sqlite3.connect(lib.root / "records.sqlite") as conn:
        start = conn.execute("SELECT COALESCE(MAX(position) + 1, 0) FROM records").fetchone()[0]
        conn.executemany("INSERT INTO records(position, id, split, body) VALUES (?, ?, ?, ?)",
                         [(start + i, rid, "train", json.dumps(body, ensure_ascii=False))
                          for i, (rid, body) in enumerate(rows)])


@pytest.fixture
def damaged(tmp_path):
    lib = Library.create(tmp_path / "lib")
    lib.add_records([Record(id="good-1", text="first caption", date="2020"),
                     Record(id="good-2", text="second caption", date="2021-05-04")])
    _store_raw(lib, [("bad-date", {"id": "bad-date", "text": "caption", "date": "²⁰²⁰"}),
                     ("bad-page", {"id": "bad-page", "text": "caption", "source": {"page": "inf"}})])
    with sqlite3.connect(lib.root / "records.sqlite") as conn:
        conn.execute("INSERT INTO records(position, id, split, body) VALUES (99, 'not-json', NULL, '{oops')")
    return lib


def test_a_stored_bad_date_does_not_stop_the_library_from_opening_or_listing(damaged):
    lib = Library.open(damaged.root)
    with pytest.warns(UnreadableRecordWarning) as caught:
        records = lib.records()
    messages = sorted(str(w.message) for w in caught)
    assert len(messages) == 3 and "bad-date" in messages[0] and "is not a year or an ISO date" in messages[0]
    assert [r.id for r in records] == ["good-1", "good-2"]
    assert [r.year for r in records] == [2020, 2021]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreadableRecordWarning)
        assert [r.id for r in lib.records("train")] == []
        assert lib.label_vocabulary() == []
    unreadable = lib.unreadable_records()
    assert sorted(unreadable) == ["bad-date", "bad-page", "not-json"]
    assert "date" in unreadable["bad-date"] and "page" in unreadable["bad-page"]
    assert "JSON" in unreadable["not-json"]


def test_getting_a_stored_bad_record_is_a_clear_input_error_not_a_crash(damaged):
    with pytest.raises(InputError, match="bad-date.*unreadable.*date") as info:
        damaged.get("bad-date")
    assert info.value.fix
    assert damaged.get("good-1").text == "first caption"
    with pytest.warns(UnreadableRecordWarning):
        page = damaged.get_many(["good-2", "bad-date", "good-1", "bad-page"], skip_missing=True)
    assert [r.id for r in page] == ["good-2", "good-1"]


def test_deleting_an_unreadable_record_repairs_the_library(damaged):
    damaged.delete_records(["bad-date", "bad-page", "not-json"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnreadableRecordWarning)
        assert len(damaged.records()) == 2
    assert damaged.unreadable_records() == {}


def test_unreadable_rows_are_reported_once_per_call_and_valid_ones_round_trip(tmp_path):
    lib = Library.create(tmp_path / "lib")
    record = Record(id="ok", title="\u202eRTL title", text="emoji \U0001F600 中文", date="2020-02-29",
                    extra={"score": 1.5, "nested": {"a": [1, None, "x"]}})
    lib.add_records([record])
    again = lib.get("ok")
    assert again.title == record.title and again.text == record.text and again.date == "2020-02-29"
    assert not math.isnan(again.extra["score"])
