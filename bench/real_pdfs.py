"""Rebuild the real-paper development set: real research PDFs from public GitHub repositories.

``bench/real_pdfs_sources.json`` lists one entry per PDF: the repository (``owner/name``), the
commit, the path at that commit, its sha256, page count, and a best-guess ``field`` and ``kind``
(from the title page). Entries with a ``file`` key are the papers already kept in the shared
``real_pdfs_dev`` folder (see its SOURCE.txt); they are copied from there, not from git.

For every other entry the file is read from a local bare snapshot of its repository with
``git --git-dir=<mirror>/<owner>+<name>/... show <commit>:<path>``; when the snapshot is missing
the script names the repository to fetch and skips the entry. Every file is checked against its
sha256 before it is written to the cache folder (``bench/real_pdfs_cache/``, git-ignored).

The PDFs themselves are never committed: each keeps its authors' copyright; only this list is.

    python bench/real_pdfs.py                      # fill bench/real_pdfs_cache/
    python bench/real_pdfs.py --out /tmp/papers --mirror /work/.mirror --dev /work/shared/data/real_pdfs_dev

Prints progress and a summary (papers, pages, by field and kind). Exit status is 1 only when
a file's sha256 differs from the list; missing snapshots are reported and skipped.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent


def cache_name(entry: dict) -> str:
    """File name in the cache: ``owner__name__<commit[:7]>__path__with__slashes.pdf``, other
    odd characters as ``_`` (dev files keep their names)."""
    if "file" in entry:
        return entry["file"]
    return re.sub(
        r"[^A-Za-z0-9._+-]",
        "_",
        "/".join((entry["repo"], entry["commit"][:7], entry["path"])).replace(
            "/", "__"
        ),
    )


def find_git_dir(mirror: Path, repo: str) -> Path | None:
    """The bare git directory of ``repo`` under ``mirror`` (``owner+name/repo`` or ``.../repo/.git``)."""
    base = mirror / repo.replace("/", "+")
    for cand in (base / "repo" / ".git", base / "repo", base):
        if (cand / "objects").is_dir():
            return cand
    return None


def read_entry(entry: dict, mirror: Path, dev: Path) -> bytes | None:
    if "file" in entry:
        src = dev / entry["file"]
        return src.read_bytes() if src.is_file() else None
    git_dir = find_git_dir(mirror, entry["repo"])
    if git_dir is None:
        return None
    res = subprocess.run(
        ["git", f"--git-dir={git_dir}", "show", f"{entry['commit']}:{entry['path']}"],
        capture_output=True,
        check=False,
    )
    return res.stdout if res.returncode == 0 else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sources", type=Path, default=HERE / "real_pdfs_sources.json")
    ap.add_argument("--out", type=Path, default=HERE / "real_pdfs_cache")
    ap.add_argument("--mirror", type=Path, default=Path("/work/.mirror"))
    ap.add_argument("--dev", type=Path, default=Path("/work/shared/data/real_pdfs_dev"))
    args = ap.parse_args(argv)

    entries = json.loads(args.sources.read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    ok: list[dict] = []
    missing_repos: Counter = Counter()
    mismatches = 0
    for i, entry in enumerate(entries, 1):
        name = cache_name(entry)
        target = args.out / name
        if (
            target.is_file()
            and hashlib.sha256(target.read_bytes()).hexdigest() == entry["sha256"]
        ):
            ok.append(entry)
            continue
        data = read_entry(entry, args.mirror, args.dev)
        if data is None:
            where = (
                "real_pdfs_dev folder " + str(args.dev)
                if "file" in entry
                else "github:" + entry["repo"]
            )
            missing_repos[where] += 1
            print(
                f"[{i}/{len(entries)}] skip {name}: not found (fetch {where})",
                file=sys.stderr,
            )
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest != entry["sha256"]:
            mismatches += 1
            print(
                f"[{i}/{len(entries)}] SHA MISMATCH {name}: {digest}", file=sys.stderr
            )
            continue
        target.write_bytes(data)
        ok.append(entry)
        print(f"[{i}/{len(entries)}] {name} ({entry['pages']} pages)")

    pages = sum(e["pages"] for e in ok)
    print(f"\n{len(ok)}/{len(entries)} papers, {pages} pages in {args.out}")
    for key in ("field", "kind"):
        counts = Counter(e[key] for e in ok)
        print(f"by {key}: " + ", ".join(f"{k} {v}" for k, v in counts.most_common()))
    print(f"repositories: {len({e['repo'] for e in ok})}")
    if missing_repos:
        print(
            "missing (fetch these snapshots, then rerun): "
            + ", ".join(sorted(missing_repos))
        )
    if mismatches:
        print(f"{mismatches} sha256 mismatches", file=sys.stderr)
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
