"""`scicmr match LIB photo.jpg`: find the library figure a photo or screenshot shows."""

from __future__ import annotations

import argparse

from scicmr.cli._output import print_json, print_table


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "match", help="image -> image: find the original figure of a photo or screenshot",
        description="Global CNN features shortlist the library's figures; a crop-aligned thumbnail "
        "correlation re-ranks them. (`scicmr search --image` is image -> text through the trained model.)",
    )
    p.add_argument("library")
    p.add_argument("image", help="the query photo or screenshot")
    p.add_argument("-k", type=int, default=10, help="results to show (default 10)")
    p.add_argument("--encoder", default=None, help="global image encoder (default: the library's, else efficientnet-lite0)")
    p.add_argument("--no-rerank", action="store_true", help="global features only")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_match)


def cmd_match(args: argparse.Namespace) -> int:
    from scicmr.corpus.images import load_image
    from scicmr.workflow.match import match_image

    query = load_image(args.image)  # a clear error for a missing or broken file, before any model loads
    results = match_image(args.library, query, args.k, encoder=args.encoder, rerank=not args.no_rerank)
    if args.json:
        print_json([{**m.to_dict(), "title": r.title, "image": r.image, "text": r.text} for m, r in results])
        return 0
    rows = [(str(m.rank), m.id, f"{m.score:.3f}", f"{m.global_score:.3f}", "-" if m.ncc is None else f"{m.ncc:.3f}",
             r.title[:60]) for m, r in results]
    print_table(("rank", "id", "score", "cosine", "ncc", "title"), rows, title=f"figures matching {args.image}")
    return 0
