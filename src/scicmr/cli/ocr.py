"""``scicmr ocr LIB``: read the text printed in every figure (Tesseract) and store it."""

from __future__ import annotations

import argparse

from scicmr.cli._output import (add_json_option, add_library_argument, add_ray_option, console, print_json,
                                print_skipped, ray_executor)


def register(subparsers) -> None:
    p = subparsers.add_parser("ocr", help="OCR every figure (Tesseract) and store its text with the record")
    add_library_argument(p)
    p.add_argument("--lang", default="auto", help="Tesseract languages: eng, chi_sim, eng+chi_sim, or auto "
                   "(chi_sim+eng for mostly-Chinese libraries, else eng)")
    p.add_argument("--workers", type=int, default=None, help="processes (default min(2, CPU count))")
    p.add_argument("--psm", type=int, default=3, help="Tesseract page segmentation mode (3: automatic [default], 11: sparse text)")
    p.add_argument("--binarize", default="none", choices=["none", "otsu"],
                   help="otsu: black-and-white the figure before OCR (helps faint scans)")
    p.add_argument("--force", action="store_true", help="re-read figures that already have OCR text")
    add_ray_option(p, "the OCR", "one Ray task per figure")
    add_json_option(p, "the OCR report")
    p.set_defaults(func=cmd_ocr)


def cmd_ocr(args: argparse.Namespace) -> int:
    from scicmr.workflow.ocr import ocr_figures

    with ray_executor(args) as executor:
        report = ocr_figures(args.library, lang=args.lang, workers=args.workers, force=args.force,
                             psm=args.psm, binarize=args.binarize, executor=executor)
    if args.json:
        print_json(report.to_dict())
        return 0
    out = console()
    out.print(f"OCR ({report.settings['lang']}, psm {report.settings['psm']}): {report.done} figures read "
              f"({report.empty} without text), {report.cached} already done, {report.without_image} without "
              f"image, in {report.seconds:.1f}s")
    print_skipped(out, report.skipped, f"{report.library}/reports/ocr.json")
    return 0
