"""Folders of PDFs through ``scicmr ingest``: bad files reported and skipped, the rest ingested."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factories.pdf import Fig, body, make_paper, scanned_pdf

pytest.importorskip("pdfplumber")
pytest.importorskip("pypdfium2")

from scicmr.cli import main  # noqa: E402
from scicmr.corpus.library import Library  # noqa: E402
from scicmr.corpus.pdf import read_pdf_folder  # noqa: E402
from scicmr.corpus.readers import detect_source_kind  # noqa: E402


def _good(path: Path, seed: int, pages: int = 1) -> None:
    blocks = [body(3, cite=f"As shown in Figure 1, sample {seed} behaves well."),
              Fig("1", f"Figure 1: Vector plot of sample {seed}.", "vector", height=100), body(2),
              Fig("2", f"Figure 2: Photograph of sample {seed}.", "raster", height=90)]
    blocks += [body(130)] * (pages - 1)
    make_paper(path, blocks, title=f"Paper number {seed} on samples")


def _mixed_folder(root: Path) -> Path:
    folder = root / "papers"
    (folder / "sub").mkdir(parents=True)
    _good(folder / "a.pdf", 1)
    _good(folder / "sub" / "b.pdf", 2)
    _good(folder / "long.pdf", 3, pages=3)
    make_paper(folder / "nofigures.pdf", [body(20)])
    make_paper(folder / "locked.pdf", [body(3), Fig("1", "Figure 1: Secret.", "raster")], encrypt="s3cret")
    scanned_pdf(folder / "scan.pdf")
    (folder / "notes.pdf").write_text("these are plain text notes, not a PDF\n")
    data = (folder / "a.pdf").read_bytes()
    (folder / "cut.pdf").write_bytes(data[:400])
    return folder


def test_detect_pdf_sources(tmp_path: Path):
    _good(tmp_path / "x.pdf", 1)
    assert detect_source_kind(tmp_path) == "pdf"
    assert detect_source_kind(tmp_path / "x.pdf") == "pdf"


def test_cli_ingest_reports_and_skips_bad_files(tmp_path: Path, capsys):
    folder = _mixed_folder(tmp_path)
    lib_dir = tmp_path / "lib"
    assert main(["ingest", str(folder), "--out", str(lib_dir), "--workers", "1", "--max-pages", "2"]) == 0
    printed = capsys.readouterr().out
    report = json.loads((lib_dir / "reports" / "ingest.json").read_text())
    reasons = {item["item"]: item["reason"] for item in report["skipped"]}
    assert set(reasons) == {"nofigures.pdf", "locked.pdf", "scan.pdf", "notes.pdf", "cut.pdf", "long.pdf"}
    assert reasons["nofigures.pdf"] == "no captioned figures found"
    assert reasons["locked.pdf"].startswith("encrypted PDF")
    assert reasons["scan.pdf"] == "scanned page without text layer; OCR it first"
    assert reasons["notes.pdf"].startswith("not a PDF")
    assert reasons["cut.pdf"].startswith("corrupt or truncated PDF")
    assert reasons["long.pdf"].endswith("pages, over the 2-page limit; raise it with --max-pages (PdfSettings.max_pages) to read it")
    for item in reasons:
        assert item in printed
    lib = Library.open(lib_dir)
    records = {r.id: r for r in lib.records()}
    assert set(records) == {"a-fig1", "a-fig2", "sub_b-fig1", "sub_b-fig2"}
    assert records["sub_b-fig2"].source.file == "sub/b.pdf"
    assert records["a-fig1"].context == "As shown in Figure 1, sample 1 behaves well."
    # Every record's image is in the library; skipped papers left no images behind.
    for rec in records.values():
        assert lib.image_path(rec).is_file()
    stored = sorted(p.relative_to(lib_dir).as_posix() for p in (lib_dir / "images").rglob("*.png"))
    assert stored == sorted(r.image for r in records.values())
    # Both figures of a paper are in the same split.
    assert records["a-fig1"].extra.get("split", None) == records["a-fig2"].extra.get("split", None)


def test_raising_the_page_limit_reads_the_long_paper(tmp_path: Path):
    _good(tmp_path / "long.pdf", 3, pages=3)
    lib_dir = tmp_path / "lib"
    assert main(["ingest", str(tmp_path / "long.pdf"), "--out", str(lib_dir), "--max-pages", "5", "--dpi", "72"]) == 0
    assert sorted(Library.open(lib_dir).ids()) == ["long-fig1", "long-fig2"]


@pytest.mark.slow
def test_parallel_folder_read_equals_sequential(tmp_path: Path):
    folder = _mixed_folder(tmp_path)
    one = read_pdf_folder(folder, tmp_path / "one", workers=1, show_progress=False)
    two = read_pdf_folder(folder, tmp_path / "two", workers=2, show_progress=False)
    strip = lambda recs: [(r.id, r.text, r.source, r.context, r.title) for r in recs]  # noqa: E731
    assert strip(one.records) == strip(two.records)
    assert [p.to_dict() for p in one.skipped] == [p.to_dict() for p in two.skipped]
    for a, b in zip(one.records, two.records):
        assert Path(a.image).read_bytes() == Path(b.image).read_bytes()


def test_file_size_limit_is_reported_with_the_setting_to_raise_it(tmp_path: Path):
    from scicmr.corpus.pdf import PdfSettings, read_pdf

    _good(tmp_path / "big.pdf", 1)
    result = read_pdf(tmp_path / "big.pdf", tmp_path / "img", settings=PdfSettings(max_megabytes=0.001))
    assert result.records == [] and not (tmp_path / "img").exists()
    assert "over the 0.001 MB limit; raise it with --max-mb" in result.skipped[0].reason


def test_ingest_walks_the_pdf_folder_once(tmp_path: Path, monkeypatch):
    import pathlib

    from scicmr.corpus import readers
    from scicmr.workflow import ingest

    folder = tmp_path / "papers"
    (folder / "sub").mkdir(parents=True)
    _good(folder / "a.pdf", 1)
    _good(folder / "sub" / "b.pdf", 2)
    (folder / "notes.pdf").write_text("plain text, not a PDF\n")
    walks, scans = [], []
    rglob, scan_source = pathlib.Path.rglob, readers.scan_source

    def counting_rglob(self, pattern, *args, **kwargs):
        walks.append((str(self), pattern))
        return rglob(self, pattern, *args, **kwargs)

    def counting_scan(path):
        scans.append(str(path))
        return scan_source(path)

    monkeypatch.setattr(pathlib.Path, "rglob", counting_rglob)
    monkeypatch.setattr(readers, "scan_source", counting_scan)
    report = ingest(folder, tmp_path / "lib", reader_options={"workers": 1})
    assert [w for w in walks if w[0].startswith(str(folder))] == [(str(folder), "*")]
    assert scans == [str(folder)]
    assert report.added == 4 and [s["item"] for s in report.skipped] == ["notes.pdf"]
    assert report.notes["pdf_files"] == 3 and list(report.notes["pdf_stats"]) == ["a.pdf", "notes.pdf", "sub/b.pdf"]


def test_figure_ocr_off_and_export_carries_figure_words(tmp_path: Path, monkeypatch):
    from scicmr.corpus.pdf import figure_ocr

    def never(image, settings):
        raise AssertionError("--figure-ocr off must not run Tesseract")

    monkeypatch.setattr(figure_ocr, "run_tesseract", never)
    folder = tmp_path / "papers"
    folder.mkdir()
    _good(folder / "a.pdf", 1)
    lib_dir = tmp_path / "lib"
    assert main(["ingest", str(folder), "--out", str(lib_dir), "--workers", "1", "--figure-ocr", "off"]) == 0
    out = tmp_path / "records.jsonl"
    assert main(["export", str(lib_dir), "--out", str(out)]) == 0
    rows = {row["id"]: row for row in map(json.loads, out.read_text().splitlines())}
    assert set(rows) == {"a-fig1", "a-fig2"}
    assert all(row["split"] in ("train", "validation", "test") and row["source_file"] == "a.pdf" for row in rows.values())
    assert rows["a-fig1"]["figure_text"].split() == ["y", "0.0", "0.5", "1.0", "1.5"]
    assert rows["a-fig1"]["figure_text_source"] == "text-layer"
    assert (rows["a-fig2"]["figure_text"], rows["a-fig2"]["figure_text_source"]) == ("", None)


def test_unknown_figure_ocr_mode_is_refused(tmp_path: Path, capsys):
    _good(tmp_path / "a.pdf", 1)
    with pytest.raises(SystemExit) as exit_info:
        main(["ingest", str(tmp_path), "--out", str(tmp_path / "lib"), "--figure-ocr", "always"])
    assert exit_info.value.code == 2 and "--figure-ocr" in capsys.readouterr().err
    from scicmr.corpus.readers.pdf import read_pdfs
    from scicmr.errors import InputError

    with pytest.raises(InputError, match="figure OCR mode"):
        read_pdfs(tmp_path, tmp_path / "lib2", figure_ocr="always")
