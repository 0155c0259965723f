"""Caption recall of PDF ingest on real papers, against a heuristic reference built from the
PDF text layer independently of scicmr's layout code.

Reference: every distinct (paper, figure number) for which some text line (pypdfium2's plain
text, one line per text line) starts with a figure label — ``Figure N``, ``Fig. N``, ``FIGURE
N``, ``FIG. N`` (N a number, optionally ``S``-prefixed, a panel letter allowed) — followed by
what a caption has after its label: a delimiter (``:``, ``.``, ``|``, a dash) and text, or a
capitalised word that is not the verb of a body sentence ("Figure 3 shows ..." is a reference
in the text, not a caption). Only the first such line per number is kept.

Recall = reference pairs that a record of the library has (same file, same number) / all
reference pairs. It is a heuristic: a body line that starts with "Figure 3." counts as a
caption, a caption whose label the text layer splits counts as absent; the misses it prints
show which is which.

    PYTHONPATH=src python bench/caption_recall.py /path/to/pdfs /path/to/library [--misses 30] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path

LABEL = re.compile(
    r"^\s*(?:Figure|FIGURE|Fig\.|FIG\.|Fig|FIG)\s*(S?\d{1,3})[a-z]?(?:\s*\([a-z]\))?"
    r"(?P<rest>.*)$")
DELIMITED = re.compile(r"^\s*[:.|\u2014\u2013-]\s*\S")
# Verbs (and other words) that follow "Figure N" in a body sentence, not in a caption.
BODY_WORDS = {"shows", "show", "showed", "illustrates", "presents", "displays", "depicts", "demonstrates",
              "gives", "compares", "plots", "summarizes", "summarises", "contains", "provides", "reports",
              "is", "are", "was", "were", "and", "or", "in", "of", "to", "also", "further", "below", "above",
              "highlights", "indicates", "reveals", "suggests", "confirms", "has", "as", "for", "with", "the"}


def caption_number(line: str) -> str | None:
    """The figure number when ``line`` looks like the start of a caption, else None."""
    match = LABEL.match(line)
    if not match:
        return None
    rest = match.group("rest")
    if DELIMITED.match(rest):
        return match.group(1).upper()
    words = rest.split()
    if words and words[0][:1].isupper() and words[0].lower().strip(",;") not in BODY_WORDS:
        return match.group(1).upper()
    return None


def reference(pdf: Path) -> dict[str, str]:
    """{figure number: the first caption-like line} of one PDF (empty when it cannot be read)."""
    import pypdfium2 as pdfium

    found: dict[str, str] = {}
    try:
        doc = pdfium.PdfDocument(str(pdf))
    except Exception:  # noqa: BLE001 -- an unreadable file has no reference
        return found
    try:
        for page in doc:
            text = page.get_textpage().get_text_range()
            for line in text.replace("\r", "\n").split("\n"):
                number = caption_number(line)
                if number and number not in found:
                    found[number] = line.strip()[:120]
            page.close()
    finally:
        doc.close()
    return found


def extracted(library: Path) -> tuple[set[tuple[str, str]], set[str]]:
    """((source file, number) of every record, the source files read) of a library."""
    from scicmr.corpus.library import Library

    lib = Library.open(library)
    pairs, files = set(), set()
    for record in lib.records():
        number = re.sub(r"[a-z]$", "", str(record.extra.get("figure", ""))).upper()
        pairs.add((record.source.file, number))
        files.add(record.source.file)
    return pairs, files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pdfs", type=Path)
    parser.add_argument("library", type=Path)
    parser.add_argument("--misses", type=int, default=30, help="how many misses to print (a seeded sample)")
    parser.add_argument("--json", type=Path, help="write the reference, the misses and the numbers here")
    args = parser.parse_args(argv)
    files = sorted(p for p in args.pdfs.rglob("*") if p.suffix.lower() == ".pdf")
    ref = {(p.relative_to(args.pdfs).as_posix(), n): line for p in files for n, line in reference(p).items()}
    pairs, read_files = extracted(args.library)
    hits = [key for key in ref if key in pairs]
    misses = sorted(key for key in ref if key not in pairs)
    in_read = [key for key in ref if key[0] in read_files]
    extra = sorted(key for key in pairs if key not in ref)
    print(f"papers {len(files)}, reference captions {len(ref)}, extracted records {len(pairs)}")
    print(f"caption recall {len(hits) / max(len(ref), 1):.3f} ({len(hits)}/{len(ref)})")
    print(f"  on papers ingest kept: {sum(k in pairs for k in in_read) / max(len(in_read), 1):.3f} "
          f"({sum(k in pairs for k in in_read)}/{len(in_read)})")
    print(f"records without a reference line: {len(extra)}")
    by_paper = Counter(key[0] for key in misses)
    print("papers with most misses:", ", ".join(f"{name[:40]} {n}" for name, n in by_paper.most_common(8)))
    for key in random.Random(0).sample(misses, min(args.misses, len(misses))):
        print(f"  miss {key[0][:50]} fig {key[1]}: {ref[key]}")
    if args.json:
        args.json.write_text(json.dumps({"recall": len(hits) / max(len(ref), 1), "reference": len(ref),
                                         "hits": len(hits), "misses": [[*k, ref[k]] for k in misses],
                                         "extra": [list(k) for k in extra]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
