"""The tokenizer behind TF-IDF, BoW and LDA: lowercase Latin words plus jieba-segmented CJK.

Rules (deterministic, pinned by tests):

1. Unicode NFKC normalisation (full-width letters and digits become ASCII), then lowercase.
2. Runs of CJK ideographs are segmented with jieba (HMM on; imported lazily, logging silenced).
3. Everything else is split into words of letters and digits (``[^\\W_]+``): punctuation,
   hyphens and apostrophes separate words ("state-of-the-art" -> state, of, the, art).
4. Dropped: stopwords (a small English + Chinese list), pure numbers, and one-character
   non-CJK tokens (single Chinese characters often carry meaning, so they are kept).
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata

# CJK Unified Ideographs, Extension A and Compatibility Ideographs.
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[^\W_]+")

ENGLISH_STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each either et etc
    few for from further had has have having he her here hers herself him himself his how however
    i if in into is it its itself just may me might more most much must my myself no nor not now
    of off on once only or other our ours ourselves out over own same shall she should so some
    such than that the their theirs them themselves then there these they this those through thus
    to too under until up upon us very via was we were what when where which while who whom why
    will with within without would yet you your yours yourself yourselves
    """.split()
)

CHINESE_STOPWORDS = frozenset(
    """
    的 了 和 是 在 有 也 就 都 而 及 与 着 或 之 以 为 于 对 等 被 从 把 将 向 并 其 该 此 各
    个 这 那 这个 那个 这些 那些 一个 一些 没有 我们 你们 他们 她们 它们 我 你 他 她 它 自己
    因为 所以 但是 但 如果 虽然 然而 而且 并且 以及 或者 还是 就是 也是 不是 可以 已经 通过
    进行 由于 对于 关于 其中 之一 根据 以上 以下 之后 之前 上 下 中 里 又 还 更 很 最 再 则
    吗 呢 吧 啊 呀 么 得 地 所 给 让 使 但 却 即 若 如 由 至 于是
    """.split()
)

STOPWORDS = ENGLISH_STOPWORDS | CHINESE_STOPWORDS

# Bump when the rules above change: encoders put it in their config, so cached features and
# fitted vocabularies built with older rules are not mixed with new ones.
TOKENIZER_VERSION = 1

_jieba_lock = threading.Lock()
_jieba = None


def _load_jieba():
    """Import jieba once, silencing its "Building prefix dict..." log lines."""
    global _jieba
    with _jieba_lock:
        if _jieba is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            _jieba = jieba
    return _jieba


def segment_cjk(run: str) -> list[str]:
    """Split one run of CJK characters into words with jieba (precise mode, HMM on)."""
    return [w for w in _load_jieba().lcut(run, cut_all=False, HMM=True) if w.strip()]


def tokenize(text: str, *, stopwords: bool = True) -> list[str]:
    """Tokens of ``text`` in reading order, following the module rules.

    >>> tokenize("Transmission electron micrographs of graphene, 2019")
    ['transmission', 'electron', 'micrographs', 'graphene']
    """
    text = unicodedata.normalize("NFKC", text).lower()
    tokens: list[str] = []
    position = 0
    for match in _CJK_RUN.finditer(text):
        tokens.extend(_latin_tokens(text[position : match.start()]))
        tokens.extend(segment_cjk(match.group()))
        position = match.end()
    tokens.extend(_latin_tokens(text[position:]))
    if stopwords:
        tokens = [t for t in tokens if t not in STOPWORDS]
    return tokens


def _latin_tokens(text: str) -> list[str]:
    words = _WORD.findall(text)
    return [w for w in words if len(w) > 1 and not w.isdigit()]


class Tokenizer:
    """Callable wrapper around :func:`tokenize` (picklable, for sklearn's ``analyzer``)."""

    def __init__(self, stopwords: bool = True):
        self.stopwords = stopwords

    def __call__(self, text: str) -> list[str]:
        return tokenize(text, stopwords=self.stopwords)

    def config(self) -> dict:
        return {"version": TOKENIZER_VERSION, "stopwords": self.stopwords}
