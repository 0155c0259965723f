"""Fault campaign: hostile inputs, kill -9 and hostile HTTP against scicmr; prints a table.

    PYTHONPATH=src python bench/faults.py [--seed 0] [--quick] [--out bench/results/faults.json]

Classes of cases (all generated from ``--seed``; nothing is downloaded):

readers     bad rows and bad files for every reader (JSONL / JSON / CSV manifests, the
            Wikipedia layout, .mat benchmarks, PDF papers), each beside good rows that must
            survive: read in-process with a per-case timeout.
kills       kill -9 at every crash point (``SCICMR_CRASH_AT``) of encode, train, index, clean,
            ocr and the service's write path, and at seeded random moments; then the record
            set (before or after, never less), ``scicmr info`` / ``search``, a re-run, and an
            in-process service start on the killed library.
http        hostile requests to an in-process app (FastAPI TestClient): bad JSON, wrong types,
            huge bodies, random methods and paths, unicode, path traversal, bad uploads;
            every answer must be a 2xx/4xx with a problem body, never a 5xx, a hang, a file
            outside the library, or a lost record.
startup     the service started on damaged libraries: a clean error or a start, never a traceback.

Outcomes per case: ok (accepted or refused as designed), clean (a ScicmrError / 4xx problem /
``error:`` line), traceback (an unexpected exception, a 5xx, a traceback on stderr), hang
(over the per-case timeout), lost (records lost, duplicated, or a file outside the library
served), startup (the service did not start, or not cleanly). The JSON summary (``--out``)
holds the table and every failing case with its detail.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT / "tests", ROOT / "tests" / "faults"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))
sys.path.append(str(ROOT / "src"))  # PYTHONPATH wins: the campaign can run against another checkout's scicmr
os.environ.setdefault("SCICMR_QUIET", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import kill_helpers as kh

OUTCOMES = ("ok", "clean", "traceback", "hang", "lost", "startup")


class Hang(Exception):
    pass


@contextlib.contextmanager
def deadline(seconds: float):
    def _alarm(signum, frame):
        raise Hang(f"over {seconds}s")

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


class Campaign:
    def __init__(self):
        self.counts: dict[str, Counter] = defaultdict(Counter)
        self.failures: list[dict] = []

    def record(self, cls: str, case: str, outcome: str, detail: str = "") -> None:
        assert outcome in OUTCOMES, outcome
        self.counts[cls][outcome] += 1
        if outcome in ("traceback", "hang", "lost", "startup"):
            self.failures.append({"class": cls, "case": case, "outcome": outcome, "detail": detail[-1500:]})

    def table(self) -> str:
        head = f"{'class':<10} {'cases':>6} {'ok':>5} {'clean err':>9} {'traceback':>9} {'hang':>5} {'lost':>5} {'startup':>7}"
        lines = [head, "-" * len(head)]
        total = Counter()
        for cls, c in self.counts.items():
            total.update(c)
            lines.append(self._row(cls, c))
        lines.append("-" * len(head))
        lines.append(self._row("total", total))
        return "\n".join(lines)

    @staticmethod
    def _row(name: str, c: Counter) -> str:
        return (f"{name:<10} {sum(c.values()):>6} {c['ok']:>5} {c['clean']:>9} {c['traceback']:>9} {c['hang']:>5} "
                f"{c['lost']:>5} {c['startup']:>7}")


# ============================================================================ hostile bytes


def png(width=48, height=32, seed=0) -> bytes:
    return kh.png_bytes(seed=seed) if (width, height) == (48, 32) else _plain_png(width, height)


def _plain_png(width: int, height: int, mode: str = "L") -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new(mode, (width, height)).save(buffer, format="PNG")
    return buffer.getvalue()


_BOMB: bytes | None = None


def bomb_png() -> bytes:
    """A small file that decodes to 100 megapixels (over every pixel limit)."""
    global _BOMB
    if _BOMB is None:
        _BOMB = _plain_png(10_000, 10_000, "1")
    return _BOMB


def bad_image_files() -> dict[str, bytes]:
    good = png()
    return {
        "zero-bytes": b"",
        "text-file": b"this is not an image\n",
        "truncated-png": good[: len(good) // 2],
        "png-header-only": good[:33],
        "garbage-after-magic": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
        "jpeg-magic-garbage": b"\xff\xd8\xff\xe0 garbage",
        "gif-magic": b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
        "svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
        "pdf-bytes": b"%PDF-1.4\n%garbage\n",
        "pixel-bomb": bomb_png(),
        "1x1": _plain_png(1, 1),
        "1x10000": _plain_png(1, 10_000),
    }


def json_mutations(rng: random.Random) -> list[tuple[str, object]]:
    """(name, row or raw line) hostile manifest rows; a str value is written as a raw line."""
    base = {"id": "hostile", "image": "images/good-0.png", "title": "A title", "caption": "Figure 1: a caption",
            "labels": ["genomics"], "authors": ["A. Author"], "date": "2015", "group": "g-hostile"}
    cases: list[tuple[str, object]] = []
    values = {
        "id": [None, 123, 1.5, [], {}, "", " ", "a/b", "../x", "x" * 10_000, "nul\u0000id", "😀", "good-1",
               "\u202eevil", True],
        "image": [None, 5, [], {}, "", "images/missing.png", "../../../../etc/passwd", "/etc/passwd", "images",
                  "images/bad-text.png", "images/bad-truncated.png", "images/bad-zero.png", "images/bad-bomb.png",
                  "file:///etc/passwd", "http://example.invalid/x.png", "images/../images/good-0.png"],
        "title": [None, 5, [], {"a": 1}, "x" * 200_000, "\u0000", "\ud800", "עברית \u202e", ""],
        "caption": [None, 7, ["a", "b"], "", "y" * 200_000, "\ud83d"],
        "date": ["2020-13-45", "yesterday", 2020, -1, "99999", "2020-02-30", None, [], "0000-00-00",
                 "1e9", "2020-01-01T99:99:99", "२०२०"],
        "labels": ["genomics", 5, [1, 2], [None], [""], ["x" * 10_000], {"a": 1}, [[["deep"]]]],
        "authors": ["One Author", 5, [None], [{"name": 1}], ["z" * 50_000]],
        "group": [5, [], None, {"a": 1}],
        "page": ["abc", -1, [1, 2], 1e308, float("nan")],
        "bbox": ["abc", [1, 2], [float("inf"), 0, 1, 1], [-1, -1, -1, -1]],
        "split": ["nonsense", 5, "test"],
        "images": [["../../etc/passwd"], "x", 5],
    }
    for field_name, options in values.items():
        for value in options:
            row = dict(base)
            row[field_name] = value
            cases.append((f"{field_name}={_short(value)}", row))
    raw = ["not json", "[]", "null", "123", '"a string"', "{", "}", "\ufeff{}", "{}", '{"id": "x"', "\x00\x00",
           "[" * 50_000 + "]" * 50_000, '{"id": ' + "[" * 5000 + "]" * 5000 + "}",
           json.dumps({**base, "extra": {"k" * 100: "v" * 100_000}})]
    cases += [(f"raw:{_short(line)}", line) for line in raw]
    for key in list(base):
        row = {k: v for k, v in base.items() if k != key}
        cases.append((f"without {key}", row))
    rng.shuffle(cases)
    return cases


def _describe(exc: BaseException) -> str:
    """``Type: message`` (shortened) and where it was raised: the last frame inside scicmr."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "scicmr" in f.filename] or \
        traceback.extract_tb(exc.__traceback__)[-1:]
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno} ({frames[-1].name})" if frames else ""
    message = str(exc)
    message = message if len(message) < 200 else message[:120] + " ... " + message[-60:]
    return f"{type(exc).__name__}: {message}{where}"


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 32 else text[:29] + "..."


# ============================================================================ readers


def _setup_images(folder: Path, n_good: int) -> list[dict]:
    from factories.data import write_image

    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n_good):
        write_image(images / f"good-{i}.png", ("red", "green", "blue")[i % 3], seed=i)
        rows.append({"id": f"good-{i}", "image": f"images/good-{i}.png", "title": f"Good study {i}",
                     "caption": f"Figure {i}: a good caption {i}", "labels": ["genomics"], "date": "2012",
                     "group": f"paper-{i}"})
    bad = bad_image_files()
    (images / "bad-text.png").write_bytes(bad["text-file"])
    (images / "bad-truncated.png").write_bytes(bad["truncated-png"])
    (images / "bad-zero.png").write_bytes(b"")
    (images / "bad-bomb.png").write_bytes(bad["pixel-bomb"])
    return rows


def _read(camp: Campaign, cls: str, case: str, source: Path, lib: Path, good: set[str], timeout: float = 20, **options):
    from scicmr.corpus.readers import read_source
    from scicmr.errors import ScicmrError

    try:
        with deadline(timeout):
            result = read_source(source, lib, progress=False, **options)
    except Hang as exc:
        camp.record(cls, case, "hang", str(exc))
        return
    except ScicmrError as exc:
        camp.record(cls, case, "clean", exc.problem)
        return
    except BaseException as exc:  # noqa: BLE001 -- the campaign counts every unexpected failure
        camp.record(cls, case, "traceback", _describe(exc))
        return
    finally:
        shutil.rmtree(lib, ignore_errors=True)
    ids = [r.id for r in result.records]
    missing = good - set(ids)
    if missing or len(ids) != len(set(ids)):
        camp.record(cls, case, "lost", f"good rows lost: {sorted(missing)[:5]}; duplicated: {len(ids) - len(set(ids))}")
    else:
        camp.record(cls, case, "ok" if not result.skipped else "clean",
                    "; ".join(f"{s.item}: {s.reason}" for s in result.skipped[:3]))


def readers(camp: Campaign, work: Path, rng: random.Random, quick: bool) -> None:
    folder = work / "readers"
    good_rows = _setup_images(folder, 3)
    good = {r["id"] for r in good_rows}
    mutations = json_mutations(rng)
    if quick:
        mutations = mutations[:40]
    # JSONL and JSON documents: the good rows around one hostile row
    for name, hostile in mutations:
        line = hostile if isinstance(hostile, str) else json.dumps(hostile, allow_nan=True)
        jsonl = folder / "m.jsonl"
        jsonl.write_text("\n".join([json.dumps(good_rows[0]), line, *map(json.dumps, good_rows[1:])]) + "\n",
                         encoding="utf-8", errors="surrogatepass")
        _read(camp, "readers", f"jsonl {name}", jsonl, folder / "lib", good)
        if not isinstance(hostile, str):
            doc = folder / "m.json"
            doc.write_text(json.dumps([good_rows[0], hostile, *good_rows[1:]], allow_nan=True), encoding="utf-8",
                           errors="surrogatepass")
            _read(camp, "readers", f"json {name}", doc, folder / "lib", good)
    # CSV
    header = "id,image,title,caption,labels,date"
    good_csv = [f"{r['id']},{r['image']},{r['title']},{r['caption']},genomics,2012" for r in good_rows]
    csv_bad = {
        "missing cells": "h1,images/good-0.png", "extra cells": "h2,images/good-0.png,t,c,l,2012,x,y,z",
        "unbalanced quote": 'h3,images/good-0.png,"never closed,c,l,2012', "nul byte": "h4,images/good-0.png,t\x00,c,l,2012",
        "huge field": "h5,images/good-0.png," + "x" * 200_000 + ",c,l,2012", "bad date": "h6,images/good-0.png,t,c,l,2012-99-99",
        "traversal": "h7,../../etc/passwd,t,c,l,2012", "empty id": ",images/good-0.png,t,c,l,2012",
        "duplicate id": "good-1,images/good-1.png,t,c,l,2012", "only commas": ",,,,,", "tab separated": "h8\timages/good-0.png\tt",
        "crlf": "h9,images/good-0.png,t,c,l,2012\r", "unicode": "h10,images/good-0.png,标题 😀,说明,l,2012",
        "bom mid-file": "\ufeffh11,images/good-0.png,t,c,l,2012", "text image": "h12,images/bad-text.png,t,c,l,2012",
        "bomb image": "h13,images/bad-bomb.png,t,c,l,2012",
    }
    for name, line in csv_bad.items():
        csv_path = folder / "m.csv"
        csv_path.write_text("\n".join([header, good_csv[0], line, *good_csv[1:]]) + "\n", encoding="utf-8")
        _read(camp, "readers", f"csv {name}", csv_path, folder / "lib", good)
    for name, text in {"empty file": "", "header only": header + "\n", "duplicate header": header + ",id\n" + good_csv[0],
                       "no id column": "title,caption\nt,c\n", "binary": "\x00\x01\x02" * 100}.items():
        csv_path = folder / "m.csv"
        csv_path.write_text(text, encoding="utf-8")
        _read(camp, "readers", f"csv file {name}", csv_path, folder / "lib", set())
    _wikipedia(camp, folder, quick)
    _mat(camp, folder)
    _pdf(camp, folder, quick)


def _wikipedia(camp: Campaign, folder: Path, quick: bool) -> None:
    import numpy as np
    from PIL import Image

    def build(root: Path, train_lines: list[str], files: dict[str, bytes] | None = None, texts: dict[str, bytes] | None = None):
        shutil.rmtree(root, ignore_errors=True)
        (root / "images" / "art").mkdir(parents=True)
        (root / "texts").mkdir()
        (root / "categories.list").write_text("art\nbiology\n", encoding="utf-8")
        for i in range(3):
            Image.fromarray(np.full((8, 10, 3), 40 * i, dtype=np.uint8)).save(root / "images" / "art" / f"w{i}.jpg")
            (root / "texts" / f"w{i}.txt").write_text(f"Title {i}\nBody {i}.\n", encoding="utf-8")
        for name, data in (files or {}).items():
            (root / "images" / "art" / name).write_bytes(data)
        for name, data in (texts or {}).items():
            (root / "texts" / name).write_bytes(data)
        good_lines = [f"w{i}\tw{i}\t1" for i in range(3)]
        (root / "trainset_txt_img_cat.list").write_text("\n".join(good_lines + train_lines) + "\n", encoding="utf-8")
        (root / "testset_txt_img_cat.list").write_text("", encoding="utf-8")

    good = {"w0", "w1", "w2"}
    bad = bad_image_files()
    cases: list[tuple[str, list[str], dict, dict]] = [
        ("malformed line", ["bad line"], {}, {}), ("category 0", ["w0b\tw0\t0"], {}, {}),
        ("category 99", ["w0b\tw0\t99"], {}, {}), ("category -1", ["w0b\tw0\t-1"], {}, {}),
        ("category text", ["w0b\tw0\tart"], {}, {}), ("traversal text id", ["../../etc/passwd\tw0\t1"], {}, {}),
        ("traversal image id", ["w0b\t../../../etc/passwd\t1"], {}, {}), ("empty fields", ["\t\t"], {}, {}),
        ("unicode ids", ["文本\t图像\t1"], {}, {"文本.txt": "中文".encode()}), ("nul in line", ["w\x00\tw0\t1"], {}, {}),
        ("huge line", ["x" * 200_000 + "\tw0\t1"], {}, {}), ("listed twice", ["w1\tw1\t1"], {}, {}),
        ("binary text", ["t9\tw0\t1"], {}, {"t9.txt": bytes(range(256))}),
        ("empty text", ["t8\tw0\t1"], {}, {"t8.txt": b""}),
        ("xml bomb text", ["t7\tw0\t1"], {}, {"t7.xml": b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "' + b"a" * 100
                                                                  + b'"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><document><text>&b;</text></document>'}),
    ]
    for name, data in bad.items():
        if quick and name not in ("truncated-png", "pixel-bomb"):
            continue
        cases.append((f"image {name}", [f"b-{name}\tb-{name}\t1"], {f"b-{name}.jpg": data},
                      {f"b-{name}.txt": b"Title\nBody\n"}))
    for name, lines, files, texts in cases:
        root = folder / "wiki"
        build(root, lines, files, texts)
        _read(camp, "readers", f"wikipedia {name}", root, folder / "lib", good)


def _mat(camp: Campaign, folder: Path) -> None:
    import numpy as np
    from scipy.io import savemat

    def build(root: Path, data: dict, lines: list[str] | None = None, raw: bytes | None = None):
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        if raw is not None:
            (root / "raw_features.mat").write_bytes(raw)
        else:
            savemat(root / "raw_features.mat", data)
        for name, prefix, n in (("trainset", "tr", 4), ("testset", "te", 2)):
            body = [f"{prefix}text{i}\t{prefix}img{i}\t{(i % 10) + 1}" for i in range(n)]
            if name == "trainset" and lines:
                body += lines
            (root / f"{name}_txt_img_cat.list").write_text("\n".join(body) + "\n", encoding="utf-8")

    rng = np.random.default_rng(0)

    def svcl(**changes):
        data = {"I_tr": rng.random((4, 128)), "T_tr": rng.random((4, 10)), "I_te": rng.random((2, 128)),
                "T_te": rng.random((2, 10))}
        data.update(changes)
        return {k: v for k, v in data.items() if v is not None}

    good = {f"trtext{i}" for i in range(4)} | {f"tetext{i}" for i in range(2)}
    nan = rng.random((4, 128))
    nan[1, 3] = np.nan
    cases = [
        ("not a mat file", {}, None, b"MATLAB 5.0 MAT-file garbage" * 10, set()),
        ("empty file", {}, None, b"", set()), ("truncated", {}, None, None, set()),
        ("missing T_tr", svcl(T_tr=None), None, None, set()), ("wrong row count", svcl(I_tr=rng.random((3, 128))), None, None, set()),
        ("strings in matrix", svcl(T_tr=np.array(["a", "b", "c", "d"])), None, None, set()),
        ("nan row", svcl(I_tr=nan), None, None, good - {"trtext1"}), ("zero columns", svcl(T_tr=np.zeros((4, 0))), None, None, set()),
        ("3-d array", svcl(I_tr=rng.random((4, 2, 64))), None, None, set()),
        ("extra list line", svcl(), ["trtext9\ttrimg9\t1"], None, good), ("bad list line", svcl(), ["garbage"], None, good),
        ("category 0", svcl(), ["trtext0\ttrimg0\t0"], None, good), ("inf values", svcl(T_te=np.full((2, 10), np.inf)), None, None,
                                                                     good - {"tetext0", "tetext1"}),
    ]
    for name, data, lines, raw, expect in cases:
        root = folder / "mat"
        if name == "truncated":
            build(root, svcl())
            blob = (root / "raw_features.mat").read_bytes()
            build(root, {}, raw=blob[: len(blob) // 2])
        else:
            build(root, data, lines, raw)
        _read(camp, "readers", f"mat {name}", root / "raw_features.mat" if raw is not None or name == "truncated" else root,
              folder / "lib", expect)


def _pdf(camp: Campaign, folder: Path, quick: bool) -> None:
    try:
        from factories.pdf import Fig, make_paper
    except Exception:  # noqa: BLE001 -- reportlab missing: no PDF cases
        return
    root = folder / "pdfs"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    paper = root / "paper.pdf"
    make_paper(paper, ["Some body text about the measurement.", Fig("1", "Figure 1: A plot of the measurement.")],
               title="A paper")
    blob = paper.read_bytes()
    variants = {
        "empty": b"", "magic only": b"%PDF-1.7\n", "garbage": b"%PDF-1.4\n" + bytes(range(256)) * 40,
        "not a pdf named .pdf": b"hello world", "eof only": b"%PDF-1.4\n%%EOF\n",
        "null bytes": b"%PDF-1.4\n" + b"\x00" * 5000,
    }
    for fraction in ((0.1, 0.5, 0.9) if quick else (0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 0.99)):
        variants[f"truncated {fraction}"] = blob[: int(len(blob) * fraction)]
    flipped = bytearray(blob)
    rnd = random.Random(3)
    for _ in range(40):
        flipped[rnd.randrange(len(flipped))] = rnd.randrange(256)
    variants["40 flipped bytes"] = bytes(flipped)
    for name, data in variants.items():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir()
        (root / "good.pdf").write_bytes(blob)
        (root / "hostile.pdf").write_bytes(data)
        _read(camp, "readers", f"pdf {name}", root, folder / "lib", set(), timeout=60, workers=1)


# ============================================================================ kills


def kills(camp: Campaign, work: Path, seed: int, quick: bool) -> None:
    templates = {stage: kh.build_library(work / "tpl" / stage, upto=stage) for stage in kh.STAGES}
    clean_tpl = kh.build_library(work / "tpl-clean", upto="index", extra_rows=kh.duplicate_rows(work / "tpl-clean" / "src"))
    points = [
        ("encode.encoder_saved:1", "ingest", "encode"), ("features.ids_written:1", "ingest", "encode"),
        ("encode.features_saved:1", "ingest", "encode"), ("features.ids_written:2", "ingest", "encode"),
        ("encode.features_saved:2", "ingest", "encode"), ("train.model_saved", "encode", "train"),
        ("train.training_json_written", "encode", "train"), ("index.modality_written:1", "train", "index"),
        ("index.modality_written:2", "train", "index"),
        ("clean.journal_written", "clean", "clean"), ("clean.files_moved", "clean", "clean"),
    ]
    n = 0
    for point, stage, command in points:
        n += 1
        lib = kh.copy_library(clean_tpl if stage == "clean" else templates[stage], work / f"k{n}")
        _kill_case(camp, f"{command} at {point}", lib, _argv(command, lib), crash_at=point,
                   search=stage != "ingest")  # an encoded-only library has no model to search with
    delays = kh.seeded_delays(seed, 2 if quick else 4, 0.1, 2.0)
    for command in ("encode", "train", "index", "clean"):
        for delay in delays:
            n += 1
            lib = kh.copy_library(clean_tpl if command == "clean" else templates["index"], work / f"k{n}")
            _kill_case(camp, f"{command} killed after {delay}s", lib, _argv(command, lib), delay=delay)
    for point, committed in (("serve.features_appended", False), ("serve.records_committed", True)):
        n += 1
        lib = kh.copy_library(templates["index"], work / f"k{n}")
        _service_kill(camp, point, lib, committed)
    if shutil.which("tesseract"):
        n += 1
        lib = kh.build_library(work / f"k{n}", upto="ingest", per_field=12)
        _kill_case(camp, "ocr at ocr.chunk_committed:1", lib, ["ocr", str(lib), "--lang", "eng", "--workers", "1"],
                   crash_at="ocr.chunk_committed:1", search=False)


def _argv(command: str, lib: Path) -> list[str]:
    if command == "clean":
        return ["clean", str(lib), "--checks", "exact"]
    return kh.stage_args(command, lib) + (["--force"] if command == "encode" else [])


def _kill_case(camp: Campaign, case: str, lib: Path, argv: list[str], *, crash_at: str | None = None,
               delay: float | None = None, search: bool = True) -> None:
    before = kh.record_ids(lib)
    if crash_at:
        code = kh.cli(*argv, crash_at=crash_at).returncode
        if code != kh.KILLED:
            camp.record("kills", case, "traceback", f"crash point did not fire (rc {code})")
            return
    else:
        code = kh.kill_after(kh.cli_argv(*argv), delay)
    after_ids = kh.record_ids(lib)
    if after_ids != before:
        camp.record("kills", case, "lost", f"{len(before)} records before, {len(after_ids)} after")
        return
    problems = kh.usability(lib).problems()
    if problems:
        camp.record("kills", case, "traceback", problems[0])
        return
    if not _starts(lib):
        camp.record("kills", case, "startup", _starts.last)
        return
    rerun = kh.cli(*argv)
    if rerun.returncode != 0 or "Traceback" in rerun.stderr:
        camp.record("kills", case, "traceback", f"re-run failed: {rerun.stderr}")
        return
    if search and not kh.usability(lib).searched:
        camp.record("kills", case, "traceback", "search fails after the re-run")
        return
    camp.record("kills", case, "ok" if code == kh.KILLED else "clean", f"rc {code}")


def _starts(lib: Path) -> bool:
    """Whether the service starts (in-process) on ``lib`` and answers a search, or refuses to
    start with a clean ScicmrError (e.g. a library with no trained model yet)."""
    from fastapi.testclient import TestClient

    from scicmr.errors import ScicmrError
    from scicmr.service import Settings, create_app

    try:
        with deadline(60), TestClient(create_app(Settings(library=lib)), raise_server_exceptions=False) as client:
            answer = client.get("/api/search", params={"q": "heat map", "k": 3})
            _starts.last = f"search answered {answer.status_code}: {answer.text[:300]}"
            return answer.status_code == 200
    except ScicmrError as exc:
        _starts.last = f"refused cleanly: {exc.problem}"
        return True
    except BaseException as exc:  # noqa: BLE001
        _starts.last = _describe(exc)
        return False


_starts.last = ""


def _service_kill(camp: Campaign, point: str, lib: Path, committed: bool) -> None:
    case = f"service write at {point}"
    before = kh.record_ids(lib)
    with kh.Server(lib, crash_at=point) as server:
        if not server.started:
            camp.record("kills", case, "startup", server.output())
            return
        kh.post_record(server.url, "added-1")
        with contextlib.suppress(Exception):
            server.proc.wait(timeout=30)
        if server.proc.returncode != kh.KILLED:
            camp.record("kills", case, "traceback", f"crash point did not fire: {server.output()}")
            return
    if kh.record_ids(lib) != (before + ["added-1"] if committed else before):
        camp.record("kills", case, "lost", "record set is neither the before nor the after state")
        return
    with kh.Server(lib) as server:
        if not server.started:
            camp.record("kills", case, "startup", server.output())
            return
        again = kh.post_record(server.url, "added-1")
        if isinstance(again, Exception) or again.status_code not in (201, 409):
            camp.record("kills", case, "traceback", f"re-post: {again!r}")
            return
    camp.record("kills", case, "ok")


# ============================================================================ http


def http(camp: Campaign, work: Path, rng: random.Random, quick: bool) -> None:
    from fastapi.testclient import TestClient

    from scicmr.service import Settings, create_app

    lib = kh.copy_library(kh.build_library(work / "http-tpl", upto="index"), work / "http")
    settings = Settings(library=lib, api_key=kh.API_KEY, max_request_bytes=2 * 2**20, max_upload_bytes=2**20)
    key = {"X-API-Key": kh.API_KEY}
    added: list[str] = []
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        def send(case: str, method: str, url: str, *, expect_write: int = 0, **kwargs) -> None:
            try:
                with deadline(30):
                    answer = client.request(method, url, **kwargs)
            except Hang as exc:
                camp.record("http", case, "hang", str(exc))
                return
            except BaseException as exc:  # noqa: BLE001
                camp.record("http", case, "traceback", f"{type(exc).__name__}: {exc}")
                return
            if answer.status_code >= 500:
                camp.record("http", case, "traceback", f"{answer.status_code}: {answer.text[:500]}")
            elif b"root:x:0:0" in answer.content or b"[extensions]" in answer.content:
                camp.record("http", case, "lost", "served a file outside the library")
            elif answer.status_code < 400:
                if expect_write and answer.status_code == 201:
                    added.extend(answer.json().get("added", []))
                camp.record("http", case, "ok")
            else:
                problem = answer.headers.get("content-type", "")
                camp.record("http", case, "clean" if ("json" in problem or method == "HEAD") else "traceback",
                            f"{answer.status_code} {problem}: {answer.text[:200]}")

        # search parameters: wrong types, bounds, unicode
        weird = ["", " ", "x" * 20_000, "😀" * 500, "\u0000", "%00", "\u202e", "中文 检索", "' OR 1=1 --", "<script>",
                 "../../etc/passwd", "\ud800".encode("utf-8", "surrogatepass").decode("latin-1")]
        for q in weird:
            send(f"search q={_short(q)}", "GET", "/api/search", params={"q": q})
        for name in ("k", "offset"):
            for value in ("-1", "0", "abc", "1e9", "99999999999999999999999", "1.5", "", "NaN", "0x10", " 5"):
                send(f"search {name}={value}", "GET", "/api/search", params={"q": "heat map", name: value})
        for name in ("year_min", "year_max", "label", "author", "target", "model", "rerank", "year"):
            for value in ("abc", "-99999", "x" * 5000, "😀", "../x", "0"):
                send(f"search {name}={_short(value)}", "GET", "/api/search", params={"q": "heat map", name: value})
        # image search uploads
        for name, data in bad_image_files().items():
            send(f"image search {name}", "POST", "/api/search/image", files={"file": ("q.png", data, "image/png")})
        send("image search no file", "POST", "/api/search/image")
        send("image search huge body", "POST", "/api/search/image", files={"file": ("q.png", b"\x00" * (3 * 2**20), "image/png")})
        # random methods and paths, traversal
        paths = ["/", "/health", "/metrics", "/docs", "/openapi.json", "/api/search", "/api/records", "/api/records/good-0",
                 "/api/records/astronomy-0", "/api/records/astronomy-0/image", "/api/records/astronomy-0/thumbnail",
                 "/api/records/astronomy-0/page", "/files/images", "/files/../../../../etc/passwd",
                 "/files/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/files//etc/passwd", "/files/..%2f..%2f..%2fetc%2fpasswd",
                 "/files/library.json", "/files/records.sqlite", "/api/records/..%2f..%2fetc%2fpasswd",
                 "/api/records/" + "x" * 5000, "/api/records/%00", "/api/records/😀", "/static/../../../etc/passwd",
                 "/%2e%2e/%2e%2e/etc/passwd", "/api/records/astronomy-0/image/../../../../../etc/passwd"]
        methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]
        combos = [(m, p) for m in methods for p in paths]
        rng.shuffle(combos)
        for method, path in combos[: (40 if quick else 120)]:
            headers = key if rng.random() < 0.3 else {}
            if method == "DELETE" and "astronomy-0" in path and headers:
                headers = {}  # keep the record set fixed: deletions are tested by the records count
            send(f"{method} {_short(path)}", method, path, headers=headers)
        for i in range(10 if quick else 30):
            junk = "/" + "".join(rng.choice("abc%/._-~😀\u202e") for _ in range(rng.randrange(1, 60))).lstrip("/")
            send(f"random path {_short(junk)}", rng.choice(methods), junk)
        # writes: keys, bad JSON, wrong types, bad uploads, huge bodies
        good_png = kh.png_bytes()
        send("write without key", "POST", "/api/records", data={"records": "[]"}, files=[("files", ("a.png", good_png, "image/png"))])
        send("write wrong key", "POST", "/api/records", headers={"X-API-Key": "nope"}, data={"records": "[]"},
             files=[("files", ("a.png", good_png, "image/png"))])
        send("delete without key", "DELETE", "/api/records/astronomy-0")
        for raw in ("not json", "[", "null", "123", '"x"', "[]", "[1, 2]", "[[]]", "{" * 100_000, "[" * 100_000,
                    json.dumps([{"id": "x"}] * 500)):
            send(f"records={_short(raw)}", "POST", "/api/records", headers=key, data={"records": raw},
                 files=[("files", ("a.png", good_png, "image/png"))])
        mutations = [m for m in json_mutations(rng) if not isinstance(m[1], str)]
        for i, (name, row) in enumerate(mutations[: (20 if quick else 60)]):
            row = dict(row)
            if row.get("image") == "images/good-0.png":
                row["image"] = "up.png"
            if isinstance(row.get("id"), str) and row["id"] == "hostile":
                row["id"] = f"hostile-{i}"
            try:
                body = json.dumps([row], allow_nan=True)
            except (ValueError, UnicodeEncodeError):
                continue
            send(f"write row {name}", "POST", "/api/records", headers=key, expect_write=1,
                 data={"records": body}, files=[("files", ("up.png", good_png, "image/png"))])
        for name, data in bad_image_files().items():
            row = {"id": f"upload-{name}", "title": "t", "caption": "c", "image": "up.png"}
            send(f"upload {name}", "POST", "/api/records", headers=key, expect_write=1, data={"records": json.dumps([row])},
                 files=[("files", ("up.png", data, "image/png"))])
        for fname in ("../x.png", "a/b.png", "..", "", "😀.png", "x" * 300 + ".png", "con.png", ".hidden.png", "a\x00.png"):
            row = {"id": f"name-{len(fname)}", "title": "t", "caption": "c", "image": fname}
            send(f"upload name {_short(fname)}", "POST", "/api/records", headers=key, expect_write=1,
                 data={"records": json.dumps([row])}, files=[("files", (fname, good_png, "image/png"))])
        send("write huge body", "POST", "/api/records", headers=key, data={"records": "[]"},
             files=[("files", ("big.png", b"\x00" * (3 * 2**20), "image/png"))])
        send("write two files one name", "POST", "/api/records", headers=key,
             data={"records": json.dumps([{"id": "twin", "title": "t", "caption": "c", "image": "a.png"}])},
             files=[("files", ("a.png", good_png, "image/png")), ("files", ("a.png", good_png, "image/png"))])
        send("write no files", "POST", "/api/records", headers=key, data={"records": "[]"})
        send("write json body", "POST", "/api/records", headers=key, json={"records": []})
        # metrics: labels must stay bounded whatever methods and paths clients send
        for i in range(20):
            send(f"custom method {i}", "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(8)), "/health")
        import re

        metrics = client.get("/metrics").text
        methods_seen = set(re.findall(r'method="([^"]*)"', metrics))
        routes_seen = set(re.findall(r'route="([^"]*)"', metrics))
        # a label holding a client's raw path (not a route template) grows without bound
        raw_paths = [r for r in routes_seen if any(bit in r for bit in ("😀", "%", "\u202e", "passwd", "xxxxx", ".."))
                     or (r.startswith("/api/records/") and "{" not in r)]
        unbounded = sorted(raw_paths)[:5] + (sorted(methods_seen)[:12] if len(methods_seen) > 10 else [])
        camp.record("http", "metrics label cardinality", "lost" if unbounded else "ok",
                    f"{len(methods_seen)} method labels, {len(routes_seen)} route labels; unbounded: {unbounded}")
    ids = kh.record_ids(lib)
    expected_n = 18 + len(set(added))
    camp.record("http", "records after the campaign", "ok" if len(ids) == expected_n and len(set(ids)) == len(ids) else "lost",
                f"{len(ids)} records, expected {expected_n}")


# ============================================================================ startup on damaged libraries


def startup(camp: Campaign, work: Path) -> None:
    from fastapi.testclient import TestClient

    from scicmr.errors import ScicmrError
    from scicmr.service import Settings, create_app

    template = kh.build_library(work / "startup-tpl", upto="index")
    damages = {
        "library.json garbage": lambda lib: (lib / "library.json").write_text("{not json"),
        "library.json empty": lambda lib: (lib / "library.json").write_text(""),
        "library.json list": lambda lib: (lib / "library.json").write_text("[]"),
        "records.sqlite garbage": lambda lib: (lib / "records.sqlite").write_bytes(b"garbage" * 100),
        "records.sqlite empty": lambda lib: (lib / "records.sqlite").write_bytes(b""),
        "no features": lambda lib: shutil.rmtree(lib / "features"),
        "vectors.npy truncated": lambda lib: [p.write_bytes(p.read_bytes()[:100]) for p in (lib / "features").glob("*/vectors.npy")],
        "ids.json garbage": lambda lib: [p.write_text("{") for p in (lib / "features").glob("*/ids.json")],
        "no models": lambda lib: shutil.rmtree(lib / "models"),
        "model config garbage": lambda lib: (lib / "models" / "cca" / "config.json").write_text("{"),
        "index ids garbage": lambda lib: [p.write_text("[1") for p in (lib / "indexes").glob("*/ids.json")],
        "index dir empty": lambda lib: [shutil.rmtree(p) or p.mkdir() for p in (lib / "indexes").iterdir()],
        "leftover staging folder": lambda lib: (lib / ".staging-abc").mkdir(),
        "leftover tmp file": lambda lib: (lib / ".library.json.x.tmp").write_text("{"),
        "images missing": lambda lib: shutil.rmtree(lib / "images"),
        "no such folder": lambda lib: shutil.rmtree(lib),
    }
    for name, damage in damages.items():
        lib = kh.copy_library(template, work / f"s-{len(camp.failures)}-{abs(hash(name)) % 10**6}")
        damage(lib)
        try:
            with deadline(60), TestClient(create_app(Settings(library=lib)), raise_server_exceptions=False) as client:
                answer = client.get("/api/search", params={"q": "heat map", "k": 3})
                camp.record("startup", name, "ok" if answer.status_code < 500 else "traceback",
                            f"{answer.status_code}: {answer.text[:300]}")
        except ScicmrError as exc:
            camp.record("startup", name, "clean", exc.problem)
        except Hang as exc:
            camp.record("startup", name, "hang", str(exc))
        except BaseException as exc:  # noqa: BLE001
            camp.record("startup", name, "startup", _describe(exc))


# ============================================================================ main


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="fewer cases per class (a smoke run)")
    parser.add_argument("--only", choices=["readers", "kills", "http", "startup"], action="append")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "faults.json")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    camp = Campaign()
    started = time.perf_counter()
    seconds = {}
    with tempfile.TemporaryDirectory(prefix="scicmr-faults-") as tmp:
        work = Path(tmp)
        import logging

        logging.disable(logging.CRITICAL)  # the service logs every refused request
        for name, run in (("readers", lambda: readers(camp, work, rng, args.quick)),
                          ("http", lambda: http(camp, work, rng, args.quick)),
                          ("startup", lambda: startup(camp, work)),
                          ("kills", lambda: kills(camp, work, args.seed, args.quick))):
            if args.only and name not in args.only:
                continue
            t0 = time.perf_counter()
            with contextlib.redirect_stderr(io.StringIO()):
                run()
            seconds[name] = round(time.perf_counter() - t0, 1)
            print(f"[{name}: {sum(camp.counts[name].values())} cases in {seconds[name]}s]", flush=True)
    table = camp.table()
    print(table)
    total = sum(sum(c.values()) for c in camp.counts.values())
    print(f"{total} cases, seed {args.seed}, {time.perf_counter() - started:.0f}s; failures: {len(camp.failures)}")
    for failure in camp.failures:
        print(f"  {failure['class']:<8} {failure['outcome']:<9} {failure['case']}: {failure['detail'].strip().splitlines()[-1][:150] if failure['detail'].strip() else ''}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"seed": args.seed, "quick": args.quick, "seconds": seconds, "cases": total,
                                    "table": {cls: dict(c) for cls, c in camp.counts.items()},
                                    "table_text": table, "failures": camp.failures}, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
