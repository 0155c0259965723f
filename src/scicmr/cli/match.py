"""`scicmr match LIB photo.jpg`: find the library figure a photo or screenshot shows."""

from __future__ import annotations

import argparse

from scicmr.cli._output import add_json_option, add_library_argument, print_json, print_table


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "match", help="image -> image: find the original figure of a photo or screenshot",
        description="Global CNN features shortlist the library's figures; a crop-aligned thumbnail "
        "correlation re-ranks them. (`scicmr search --image` is image -> text through the trained model.)",
    )
    add_library_argument(p)
    p.add_argument("image", help="the query photo or screenshot")
    p.add_argument("-k", type=int, default=10, help="results to show (default 10)")
    p.add_argument("--encoder", default=None, help="global image encoder (default: the library's, else efficientnet-lite0)")
    p.add_argument("--no-rerank", action="store_true", help="global features only")
    add_json_option(p, "the matches")
    p.set_defaults(func=cmd_match)


def cmd_match(args: argparse.Namespace) -> int:
    from scicmr.corpus.images import load_image
    from scicmr.workflow import Searcher

    query = load_image(args.image)  # a clear error for a missing or broken file, before any model loads
    hits = Searcher(args.library).search_similar_images(query, args.k, encoder=args.encoder, rerank=not args.no_rerank)
    if args.json:
        print_json([_match_row(h) for h in hits])
        return 0
    rows = [(str(h.rank), h.id, f"{h.score:.3f}", f"{h.details['global_score']:.3f}",
             "-" if h.details["ncc"] is None else f"{h.details['ncc']:.3f}",
             "-" if h.details.get("inliers") is None else str(h.details["inliers"]), h.record.title[:60]) for h in hits]
    print_table(("rank", "id", "score", "cosine", "ncc", "inliers", "title"), rows,
                title=f"figures matching {args.image}")
    return 0


def _match_row(hit) -> dict:
    """One `scicmr match --json` row (the 0.1 fields, in their order, then the local-feature
    evidence: ``inliers`` and ``quad``, the figure's corners in the photo; None when not verified)."""
    ncc = hit.details["ncc"]
    return {"rank": hit.rank, "id": hit.id, "score": round(hit.score, 6),
            "global_score": round(hit.details["global_score"], 6), "ncc": None if ncc is None else round(ncc, 6),
            "title": hit.record.title, "image": hit.record.image, "text": hit.record.text,
            "inliers": hit.details.get("inliers"), "quad": hit.details.get("quad")}
