"""``scicmr search LIB``: cross-modal search with a text query, an image, or a stored record."""

from __future__ import annotations

import argparse

from scicmr.cli._output import add_json_option, add_library_argument, print_json, print_table, warn
from scicmr.errors import InputError

SNIPPET = 90  # characters of a hit's text shown in the table
TITLE = 50  # characters of its paper's title


def register(subparsers) -> None:
    p = subparsers.add_parser("search", help="search with a text query, an image, or an existing record")
    add_library_argument(p)
    p.add_argument("query", nargs="?", help="text query")
    p.add_argument("--image", help="query image file")
    p.add_argument("--query-id", help="use this record's features as the query")
    p.add_argument("--query-modality", default="image", choices=["image", "text"], help="with --query-id")
    p.add_argument("--target", choices=["image", "text"], help="candidates (default: the other modality)")
    p.add_argument("-k", type=int, default=10, help="number of results")
    p.add_argument("--model", help="model to search with (default: the library's default model)")
    p.add_argument("--rerank", type=int, metavar="M", help="Hamming or IVF-PQ index: re-rank a shortlist of M by exact cosine (IVF-PQ default 100)")
    p.add_argument("--explain", action="store_true",
                   help="show each hit's score by channel (lexical, context, dense, cross_modal) under the hybrid ranker")
    p.add_argument("--channels", metavar="NAMES",
                   help="text and image queries: rank by these channels only, comma-separated (cross_modal: the model alone)")
    p.add_argument("--backend", choices=["faiss", "milvus"],
                   help="milvus: rank with the library's Milvus index (built by `scicmr index LIB --backend milvus`; "
                   "embedded Milvus Lite unless built with --milvus-uri); faiss: in-process indexes; default: the "
                   "library's built index. Hashing models stay on the FAISS backend")
    add_json_option(p, "the hits")
    p.set_defaults(func=cmd_search)


def cmd_search(args: argparse.Namespace) -> int:
    from scicmr.workflow import Searcher

    given = [x for x in (args.query, args.image, args.query_id) if x]
    if len(given) != 1:
        raise InputError("give exactly one query: TEXT, --image PATH or --query-id ID",
                         fix='e.g. scicmr search LIB "heat map of gene expression" -k 10')
    searcher = Searcher(args.library, args.model, rerank=args.rerank, backend=args.backend)
    channels = [c.strip() for c in args.channels.split(",") if c.strip()] if args.channels else None
    if args.image:
        hits = searcher.search_image(args.image, args.k, target=args.target or "text", channels=channels)
    elif args.query_id:
        hits = searcher.search_record(args.query_id, args.k, query_modality=args.query_modality,
                                      target=args.target or ("text" if args.query_modality == "image" else "image"))
    else:
        hits = searcher.search_text(args.query, args.k, target=args.target or "image", channels=channels)
    if args.json:
        print_json([hit.to_dict(searcher.lib) for hit in hits])
        return 0
    print_table(("#", "score", "id", "paper", "labels", "year", "text"), [_hit_row(hit) for hit in hits], overflow="fold")
    if args.explain:
        _print_explanations(hits)
    return 0


def _print_explanations(hits) -> None:
    """One line per hit: each channel's own score and (in brackets) its share of the fused score."""
    explained = [h for h in hits if h.details.get("channels")]
    if not explained:
        warn("no channel breakdown: this model ranks alone (`scicmr train` fits the hybrid ranker)")
        return
    print(f"{explained[0].details.get('ranker', 'hybrid')}: channel score (contribution to the fused score)")
    for hit in explained:
        parts = ", ".join(f"{name} {c['score']:.3f} ({c['contribution']:+.3f})"
                          for name, c in hit.details["channels"].items())
        print(f"  #{hit.rank} {hit.id}: {parts}")


def _hit_row(hit) -> tuple[str, ...]:
    """One table row of a search hit: rank, score, then its record's cells (plain text:
    :func:`print_table` shows brackets as written)."""
    r = hit.record
    return (str(hit.rank), f"{hit.score:.3f}", hit.id, _clip(r.title, TITLE), ",".join(r.labels), str(r.year or ""),
            _clip(r.text or r.title, SNIPPET))


def _clip(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    text = " ".join((text or "").split())
    return text[:limit] + ("…" if len(text) > limit else "")
