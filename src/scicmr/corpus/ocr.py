"""OCR of figures with Tesseract: the words printed inside a figure (axis labels, titles,
legends, panel text), cleaned for retrieval.

- :func:`preprocess_for_ocr` — grayscale, upscale small figures (Tesseract reads glyphs of
  ~20–30 px height best; a 256 px plot has 5–7 px labels), optional light binarisation.
- :func:`ocr_image` — one image (path, bytes or PIL image) -> cleaned text.
- :func:`clean_ocr_text` — drop one-character and punctuation-only junk tokens, rejoin Chinese
  characters Tesseract spaces apart, collapse whitespace.
- :func:`require_tesseract` / :func:`available_languages` — the Debian ``tesseract-ocr``
  binary and its language packs, with an error that says which ``apt-get install`` fixes it.

Page segmentation: ``bench/bench_ocr.py --compare`` reads rendered figures whose printed words
are known; ``--psm 3`` (automatic segmentation) found more of them, with fewer junk tokens, than
``--psm 11`` (sparse text) and ``--psm 6`` (one block), at 256 and 384 px (docs/ocr.md), so 3 is
the default. Light (Otsu) binarisation lowered recall there and is off by default.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from scicmr.errors import InputError, MissingDependencyError, ScicmrError

APT_PACKAGES = "tesseract-ocr tesseract-ocr-chi-sim"
_CJK_CHAR = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
_CJK_GAP = re.compile(rf"(?<={_CJK_CHAR})\s+(?={_CJK_CHAR})")
_IS_CJK = re.compile(_CJK_CHAR)
_WORDISH = re.compile(r"\w", re.UNICODE)
# Edge punctuation OCR sticks to words ("|label", "word,", "(a)") — inner punctuation stays.
_EDGE_JUNK = "|!\"'`‘’“”,;:.()[]{}<>«»_~*^—–-=+\\/"
BINARIZE_MODES = ("none", "otsu")


class MissingTesseractError(MissingDependencyError):
    """Tesseract (the binary, or one of its language packs) is not installed."""

    def __init__(self, what: str = "the Tesseract OCR program", packages: str = APT_PACKAGES):
        # Not MissingDependencyError.__init__: its fix is a pip extra; Tesseract comes from apt.
        ScicmrError.__init__(
            self,
            f"OCR needs {what}, which is not installed",
            fix=f"apt-get install {packages}  (Debian/Ubuntu; `make setup` does it when run as root)",
        )


@dataclass(frozen=True)
class OcrSettings:
    """How figures are read: Tesseract languages (``eng``, ``chi_sim``, ``eng+chi_sim``), page
    segmentation mode, the long side figures are upscaled to (at most ``max_upscale`` times) and
    the binarisation (``"none"`` or ``"otsu"``)."""

    lang: str = "eng"
    psm: int = 3
    target_side: int = 1600
    max_upscale: float = 4.0
    binarize: str = "none"

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z_]+(\+[A-Za-z_]+)*", self.lang or ""):
            raise InputError(f"cannot read OCR languages {self.lang!r}", fix="write them like eng or eng+chi_sim")
        if not isinstance(self.psm, int) or not 0 <= self.psm <= 13:
            raise InputError(f"Tesseract page segmentation mode must be 0..13, got {self.psm!r}", fix="use 3 (automatic) or 11 (sparse text)")
        if self.binarize not in BINARIZE_MODES:
            raise InputError(f"unknown binarisation {self.binarize!r}", fix=f"choose one of: {', '.join(BINARIZE_MODES)}")
        if self.target_side < 32 or self.max_upscale < 1:
            raise InputError("OCR target_side must be >= 32 and max_upscale >= 1")

    def to_dict(self) -> dict[str, Any]:
        return {"lang": self.lang, "psm": self.psm, "target_side": self.target_side,
                "max_upscale": self.max_upscale, "binarize": self.binarize}


# ---------------------------------------------------------------------------- Tesseract
def tesseract_path() -> str | None:
    """The Tesseract binary on PATH (or pytesseract's configured one), None when absent."""
    try:
        import pytesseract

        configured = pytesseract.pytesseract.tesseract_cmd
    except ImportError:
        configured = "tesseract"
    return shutil.which(configured) or shutil.which("tesseract")


@functools.lru_cache(maxsize=4)
def _list_languages(binary: str) -> tuple[str, ...]:
    done = subprocess.run([binary, "--list-langs"], capture_output=True, text=True, timeout=30)
    lines = (done.stdout or done.stderr).splitlines()
    return tuple(sorted(line.strip() for line in lines[1:] if line.strip()))


def require_tesseract(lang: str | None = None) -> str:
    """Path of the Tesseract binary; checks ``lang``'s packs (``"eng+chi_sim"``) are installed.

    Raises:
        MissingTesseractError: no binary, or a language pack missing (naming its apt package).
    """
    binary = tesseract_path()
    if binary is None:
        raise MissingTesseractError()
    try:
        import pytesseract  # noqa: F401
    except ImportError:
        raise MissingDependencyError("pytesseract", "pdf") from None
    if lang:
        installed = set(_list_languages(binary))
        missing = [code for code in lang.split("+") if code not in installed]
        if missing:
            packages = " ".join("tesseract-ocr-" + code.replace("_", "-").lower() for code in missing)
            raise MissingTesseractError(f"the Tesseract language pack(s) {', '.join(missing)}", packages)
    return binary


def available_languages() -> list[str]:
    """Installed Tesseract languages (empty when Tesseract is absent)."""
    binary = tesseract_path()
    return list(_list_languages(binary)) if binary else []


@functools.lru_cache(maxsize=1)
def tesseract_version() -> str:
    import pytesseract

    return str(pytesseract.get_tesseract_version())


# ---------------------------------------------------------------------------- image and text
def preprocess_for_ocr(image, settings: OcrSettings = OcrSettings()):
    """An RGB PIL image -> the 8-bit grey image Tesseract reads.

    Upscales (Lanczos) so the long side reaches ``settings.target_side``, by at most
    ``max_upscale``; never downscales. ``"otsu"`` thresholds at the Otsu level of the grey
    histogram (white paper, dark ink); ``"none"`` only stretches the contrast.
    """
    import numpy as np
    from PIL import Image, ImageOps

    grey = ImageOps.autocontrast(image.convert("L"), cutoff=0.5)
    scale = min(settings.max_upscale, settings.target_side / max(grey.size))
    if scale > 1.05:
        grey = grey.resize((round(grey.width * scale), round(grey.height * scale)), Image.LANCZOS)
    if settings.binarize == "otsu":
        pixels = np.asarray(grey)
        level = otsu_threshold(pixels)
        grey = Image.fromarray(np.where(pixels > level, 255, 0).astype(np.uint8), mode="L")
    return grey


def otsu_threshold(pixels) -> int:
    """Otsu's threshold of an 8-bit array: the level maximising between-class variance."""
    import numpy as np

    hist = np.bincount(np.asarray(pixels, dtype=np.uint8).ravel(), minlength=256).astype(np.float64)
    levels = np.arange(256, dtype=np.float64)
    weight_low = np.cumsum(hist)
    weight_high = weight_low[-1] - weight_low
    mass_low = np.cumsum(hist * levels)
    mean_low = mass_low / np.maximum(weight_low, 1)
    mean_high = (mass_low[-1] - mass_low) / np.maximum(weight_high, 1)
    between = weight_low * weight_high * (mean_low - mean_high) ** 2
    return int(np.argmax(between))


def clean_ocr_text(text: str) -> str:
    """Tesseract output -> retrieval text.

    Strips OCR edge punctuation from each token, drops tokens left with no letter or digit and
    one-character tokens (stray marks read as ``l``, ``|``, ``i``; single digits are tick
    labels, not content), except Chinese characters, which are words on their own. Spaces
    Tesseract puts between Chinese characters are removed; whitespace collapses to one space.
    """
    kept = []
    for token in text.split():
        token = token.strip(_EDGE_JUNK)
        if not token or not _WORDISH.search(token):
            continue
        if len(token) == 1 and not _IS_CJK.match(token):
            continue
        kept.append(token)
    return _CJK_GAP.sub("", " ".join(kept))


def ocr_image(source: Any, settings: OcrSettings = OcrSettings()) -> str:
    """Cleaned text printed in the image ``source`` (a path, encoded bytes or a PIL image).

    Raises:
        InputError: the image is missing or cannot be decoded.
        MissingTesseractError: Tesseract or a language pack of ``settings.lang`` is absent.
    """
    from scicmr.corpus.images import load_image

    require_tesseract(settings.lang)
    import pytesseract

    prepared = preprocess_for_ocr(load_image(source), settings)
    # One Tesseract thread per call: parallelism comes from the worker processes.
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    raw = pytesseract.image_to_string(prepared, lang=settings.lang, config=f"--psm {settings.psm}")
    return clean_ocr_text(raw)
