"""Test-wide settings: offline, quiet, single-threaded (deterministic and fair on 2 cores)."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("SCICMR_QUIET", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
