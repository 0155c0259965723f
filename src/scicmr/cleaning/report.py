"""The cleaning report: per flagged image its reasons, scores and duplicate-of; counts per
reason; the config and checks that produced it. Saved as JSON, summarised as a rich table."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scicmr._io import atomic_write_json, read_json


@dataclass
class Flag:
    """One flagged image. ``reasons`` maps reason -> human detail."""

    id: str
    path: str
    reasons: dict[str, str] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    duplicate_of: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "path": self.path, "reasons": sorted(self.reasons), "details": self.reasons,
                "scores": {k: round(float(v), 6) for k, v in self.scores.items()}, "duplicate_of": self.duplicate_of}


@dataclass
class CleaningReport:
    """Outcome of one scan over ``n_images`` images."""

    n_images: int
    checks: list[str]
    config: dict[str, Any]
    flags: list[Flag] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def flagged_ids(self) -> set[str]:
        return {f.id for f in self.flags}

    def reasons_of(self, record_id: str) -> list[str]:
        return next((sorted(f.reasons) for f in self.flags if f.id == record_id), [])

    def counts(self) -> dict[str, int]:
        """Flagged images per reason (an image with two reasons counts in both)."""
        out: dict[str, int] = {}
        for flag in self.flags:
            for reason in flag.reasons:
                out[reason] = out.get(reason, 0) + 1
        return dict(sorted(out.items()))

    def to_dict(self) -> dict[str, Any]:
        return {"n_images": self.n_images, "n_flagged": len(self.flags), "checks": self.checks,
                "counts": self.counts(), "config": self.config, "thresholds": self.thresholds,
                "seconds": {k: round(v, 3) for k, v in self.seconds.items()}, "notes": self.notes,
                "flagged": [f.to_dict() for f in self.flags]}

    def save(self, path: str | Path) -> Path:
        return atomic_write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> "CleaningReport":
        data = read_json(path)
        flags = [Flag(f["id"], f["path"], dict(f.get("details") or {r: "" for r in f["reasons"]}), f.get("scores", {}),
                      f.get("duplicate_of")) for f in data["flagged"]]
        return cls(data["n_images"], data["checks"], data["config"], flags, data.get("seconds", {}),
                   data.get("thresholds", {}), data.get("notes", []))

    def summary_table(self, *, examples: int = 3):
        """A rich Table to print: reason, count, example ids (with duplicate-of where it applies)."""
        from rich.table import Table

        table = Table(title=f"cleaning: {len(self.flags)} of {self.n_images} images flagged")
        table.add_column("reason")
        table.add_column("count", justify="right")
        table.add_column("examples")
        for reason, count in self.counts().items():
            shown = [f for f in self.flags if reason in f.reasons][:examples]
            text = ", ".join(f.id + (f" (= {f.duplicate_of})" if f.duplicate_of and "duplicate" in reason else "")
                             for f in shown)
            table.add_row(reason, str(count), text + (" ..." if count > examples else ""))
        return table
