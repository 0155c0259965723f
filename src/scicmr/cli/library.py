"""Building a library: ``scicmr ingest``, ``encode``, ``train`` and ``index``."""

from __future__ import annotations

import argparse
import dataclasses

from scicmr.cli._output import (add_json_option, add_library_argument, add_ray_option, console, parse_params,
                                lazy_epilog, print_json, print_quirks, print_skipped, ray_executor)
from scicmr.errors import InputError

INDEX_KINDS = ["exact", "flat", "hnsw", "ivfpq", "opq-ivfpq", "hamming-exact", "hamming-flat", "hamming-hnsw", "hamming-ivf"]


def register(subparsers) -> None:
    p = subparsers.add_parser("ingest", help="build a library from a manifest, a table (CSV, Parquet), WebDataset "
                              "shards, a Hugging Face dataset, a Wikipedia-layout folder, .mat features or PDFs")
    p.add_argument("source", help="what to read (the kinds are listed below): a manifest (.jsonl, .json, .csv) or a "
                   "folder holding one, a .parquet table, .tar WebDataset shards, hf:DIR (a dataset saved with "
                   "save_to_disk), a Wikipedia-layout folder, .mat features, or PDFs")
    p.add_argument("--out", required=True, help="library folder to create")
    p.add_argument("--overwrite", action="store_true", help="replace an existing library (the new one is built beside it and swapped in only when complete)")
    p.add_argument("--split", default="0.8,0.1,0.1", help="train,validation,test fractions (sources without a split)")
    p.add_argument("--validation", type=float, default=0.1, help="share of train carved for validation (fixed splits)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the train/validation/test split")
    p.add_argument("--workers", type=int, help="PDF sources: parallel processes (default min(4, CPUs))")
    p.add_argument("--dpi", type=int, help="PDF sources: figure rendering resolution (default 150)")
    p.add_argument("--max-pages", type=int, help="PDF sources: skip longer files (default 200)")
    p.add_argument("--max-mb", type=float, help="PDF sources: skip bigger files (default 100 MB)")
    p.add_argument("--figure-ocr", choices=["auto", "missing", "off"], help="PDF sources: read the words printed in figures "
                   "with Tesseract too: every figure (auto, the default; cached), only those without text-layer words "
                   "(missing: faster), or none (off)")
    add_ray_option(p, "PDF parsing and figure OCR", "one Ray task per PDF file; other sources are read here")
    add_json_option(p, "the ingest report")
    lazy_epilog(p, "sources (SOURCE):", _source_kinds)
    p.set_defaults(func=cmd_ingest)

    p = subparsers.add_parser("encode", help="compute and cache image and text features")
    add_library_argument(p)
    p.add_argument("--image-encoder", help="a name (efficientnet-lite0 [default], efficientnet-lite2, thumbnail) or a "
                   'JSON spec, e.g. \'{"name": "checkpoint", "framework": "timm", "arch": "resnet50", "path": "w.pth"}\'')
    p.add_argument("--text-encoder", help="minilm (default for English), tfidf (default for Chinese), bow, lda, "
                   "or a JSON spec like '{\"name\": \"lda\", \"n_topics\": 20}'")
    p.add_argument("--force", action="store_true", help="recompute even when cached")
    p.add_argument("--batch-size", type=int, default=32, help="items encoded per batch")
    add_ray_option(p, "the encoding", "a Ray worker per core loads the fitted encoder once and encodes batches")
    add_json_option(p, "the feature keys")
    p.set_defaults(func=cmd_encode)

    p = subparsers.add_parser("train", help="train a cross-modal method (encodes first when needed)")
    add_library_argument(p)
    p.add_argument("--method", default="cca", help="the method to train (all listed below)")
    p.add_argument("--name", help="model name (default: the method name)")
    p.add_argument("--epochs", type=int, help="training epochs for the neural methods (default: the method's "
                   "own; ignored by closed-form ones such as cca)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="method parameter (repeatable)")
    add_json_option(p, "the training report")
    p.set_defaults(func=cmd_train)
    lazy_epilog(p, "methods (--method NAME):", _method_catalog)

    p = subparsers.add_parser("index", help="index a trained model's vectors for fast search")
    add_library_argument(p)
    p.add_argument("--model", help="model name (default: last trained)")
    p.add_argument("--kind", choices=INDEX_KINDS, help="default flat, or hamming-flat with --codes; ivfpq / opq-ivfpq: "
                   "compressed codes whose shortlist is re-ranked exactly (search --rerank M, default 100)")
    p.add_argument("--codes", action="store_true", help="index a hashing model's binary codes (Hamming search)")
    p.add_argument("--backend", choices=["faiss", "milvus"], default="faiss",
                   help="faiss (default: in-process index files) or milvus: vectors and filter fields (year, labels, "
                   "authors) in a Milvus collection, searched with filters pushed down (kinds flat/exact or hnsw). "
                   "Hashing models (--codes) stay on the FAISS backend: Milvus Lite has no binary vectors")
    p.add_argument("--milvus-uri", metavar="URI", help="with --backend milvus: a Milvus server, e.g. "
                   "http://localhost:19530 (token from $SCICMR_MILVUS_TOKEN); none: embedded Milvus Lite, a file in "
                   "the library's indexes/ folder")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="index parameter (repeatable), e.g. ivfpq: nprobe=256, nlist=4096, m=64; hnsw: M=32")
    add_json_option(p, "the built index folders")
    p.set_defaults(func=cmd_index)


def _method_catalog() -> dict[str, str]:
    from scicmr.workflow.train import method_catalog

    return method_catalog()


def _source_kinds() -> dict[str, str]:
    from scicmr.workflow.ingest import source_kinds

    return source_kinds()


def cmd_ingest(args: argparse.Namespace) -> int:
    from scicmr.workflow import ingest

    options = {k: getattr(args, k) for k in ("workers", "dpi", "max_pages", "max_mb", "figure_ocr") if getattr(args, k) is not None}
    with ray_executor(args) as executor:
        report = ingest(args.source, args.out, overwrite=args.overwrite, split=args.split,
                        validation_fraction=args.validation, seed=args.seed, reader_options=options,
                        executor=executor)
    if args.json:
        print_json(report.to_dict())
        return 0
    out = console()
    out.print(f"ingested {report.added} records from {args.source} ({report.kind}) into {report.library}")
    out.print("splits: " + ", ".join(f"{k} {v}" for k, v in sorted(report.splits.items())))
    if report.features:
        out.print("precomputed features: " + ", ".join(report.features))
    print_quirks(out, report.notes.get("quirks", []), f"{report.library}/reports/ingest.json")
    print_skipped(out, report.skipped, f"{report.library}/reports/ingest.json")
    return 0


def cmd_encode(args: argparse.Namespace) -> int:
    from scicmr.workflow import encode_library

    with ray_executor(args) as executor:
        keys = encode_library(args.library, image=args.image_encoder, text=args.text_encoder,
                              force=args.force, batch_size=args.batch_size, executor=executor)
    if args.json:
        print_json(keys)
    else:
        console().print(f"features: image {keys['image']}, text {keys['text']}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from scicmr.workflow import train_model

    params = parse_params(args.param)
    if args.epochs is not None:
        params["epochs"] = args.epochs
    report = train_model(args.library, args.method, params, name=args.name)
    if args.json:
        print_json(dataclasses.asdict(report))
        return 0
    message = (f"trained {report.method} as model '{report.model}' on {report.train_pairs} pairs "
               f"(validation {report.validation_pairs}) in {report.seconds:.1f}s")
    if report.best_epoch is not None:
        message += f", best epoch {report.best_epoch}"
    console().print(message + f"\nsaved to {report.directory}")
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    from scicmr.workflow import build_index
    from scicmr.workflow.library_data import as_library, resolve_model_name

    kind = args.kind or ("hamming-flat" if args.codes else "flat")
    if args.codes and not kind.startswith("hamming"):
        raise InputError(f"--codes builds a Hamming index, not {kind!r}", fix="use --kind hamming-flat, hamming-hnsw or hamming-ivf")
    if args.milvus_uri and args.backend != "milvus":
        raise InputError("--milvus-uri needs --backend milvus", fix="add --backend milvus")
    lib = as_library(args.library)
    model = resolve_model_name(lib, args.model)
    built = build_index(lib, model, kind=kind, backend=args.backend, milvus_uri=args.milvus_uri,
                        params=parse_params(args.param))
    if args.json:
        print_json({"model": model, "kind": kind, "backend": args.backend, "indexes": built})
        return 0
    where = f", milvus at {args.milvus_uri or 'Milvus Lite (embedded)'}" if args.backend == "milvus" else ""
    for modality, directory in built.items():
        console().print(f"{modality} index ({kind}{where}): {directory}")
    return 0
