"""`scicmr hash-images LIB` (train ADHN on the library's labelled figures and index their codes)
and `scicmr hash-search LIB photo.jpg` (image -> image search by Hamming distance)."""

from __future__ import annotations

import argparse

from scicmr.cli._output import add_json_option, add_library_argument, console, print_json, print_table


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "hash-images", help="train ADHN image hashing on the library's labelled images and index their codes",
        description="Attention deep hashing (ADHN): trains on the train split's labelled images, picks the "
        "epoch on the validation split, indexes every image's binary code and reports Hamming-ranking mAP "
        "of the validation and test images against the train images.",
    )
    add_library_argument(p)
    p.add_argument("--bits", type=int, default=32, help="code length (default 32)")
    p.add_argument("--attention", choices=("se-g", "se", "none"), default="se-g",
                   help="attention block: se-g (squeeze-excitation with a gate), se, or none")
    p.add_argument("--backbone", choices=("efficientnet-lite0", "tiny", "resnet50"), default="efficientnet-lite0",
                   help="image network under the hash layer (tiny: a small untrained CNN for tests)")
    p.add_argument("--checkpoint", default=None, help="local ResNet-50 state dict (for --backbone resnet50)")
    p.add_argument("--image-size", type=int, default=128, help="input side in pixels (default 128)")
    p.add_argument("--epochs", type=int, default=20, help="training epochs, the best chosen on validation (default 20)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the training")
    add_json_option(p, "the training report")
    p.set_defaults(func=cmd_hash_images)

    s = subparsers.add_parser("hash-search", help="image -> image: library images whose ADHN codes are nearest a photo's")
    add_library_argument(s)
    s.add_argument("image", help="the query image")
    s.add_argument("-k", type=int, default=10, help="results to show (default 10)")
    s.add_argument("--model", default="adhn-32", help="the ADHN model (default adhn-32)")
    s.add_argument("--rerank", type=int, default=None, help="re-rank a Hamming shortlist of this size by cosine")
    add_json_option(s, "the hits")
    s.set_defaults(func=cmd_hash_search)


def _fmt(value) -> str:
    """A mAP for the report line: three decimals, or ``-`` when it was not measured."""
    return "-" if value is None else f"{value:.3f}"


def cmd_hash_images(args: argparse.Namespace) -> int:
    from scicmr.workflow.image_hashing import train_image_hashing

    report = train_image_hashing(args.library, bits=args.bits, attention=args.attention, backbone=args.backbone,
                                 image_size=args.image_size, epochs=args.epochs, checkpoint=args.checkpoint,
                                 seed=args.seed)
    if args.json:
        print_json(report.to_dict())
        return 0
    out = console()
    out.print(f"trained {report.model} on {report.n_train} images in {len(report.classes)} classes "
              f"(best epoch {report.best_epoch}); indexed {report.n_indexed} images")
    out.print(f"image->image Hamming-ranking mAP vs train images: validation {_fmt(report.validation_map)} "
              f"({report.n_validation} queries), test {_fmt(report.test_map)} ({report.n_test} queries)")
    for line in report.skipped:
        out.print(f"skipped {line}")
    return 0


def cmd_hash_search(args: argparse.Namespace) -> int:
    from scicmr.workflow import Searcher

    hits = Searcher(args.library).search_images_by_codes(args.image, args.k, model=args.model, rerank=args.rerank)
    if args.json:
        print_json([{"rank": h.rank, "id": h.id, "distance": h.details["distance"], "score": h.score,
                     "title": h.record.title, "image": h.record.image, "labels": h.record.labels} for h in hits])
        return 0
    rows = [(str(h.rank), h.id, str(h.details["distance"]), f"{h.score:.3f}", ", ".join(h.record.labels),
             h.record.title[:60]) for h in hits]
    print_table(("rank", "id", "hamming", "score", "labels", "title"), rows,
                title=f"images nearest {args.image} by {args.model} codes")
    return 0
