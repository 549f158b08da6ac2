"""Figures from one Locust run's samples (benchmarks/load/locustfile.py writes them), and the report."""
import csv
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HAMMER_PREFIX = "hammer:"


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass
class Run:
    name: str
    seconds: float
    samples: list[list]  # [start, name, ms, status, failed, server]
    sign_ins: list[float]
    failure_reasons: list[tuple[str, str, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    kill_at: float | None = None

    @classmethod
    def load(cls, name: str, seconds: float, results: Path, failures_csv: Path) -> "Run":
        data = json.loads(results.read_text())
        reasons = []
        if failures_csv.exists():
            with failures_csv.open() as rows:
                reasons = [(row["Name"], row["Error"], int(row["Occurrences"])) for row in csv.DictReader(rows)]
        return cls(name, seconds, data["samples"], data["sign_ins"], reasons)

    @property
    def people(self) -> list[list]:
        return [s for s in self.samples if not s[1].startswith(HAMMER_PREFIX)]

    @property
    def hammer(self) -> list[list]:
        return [s for s in self.samples if s[1].startswith(HAMMER_PREFIX)]

    def p(self, fraction: float) -> float:
        return percentile([s[2] for s in self.people], fraction)

    def count_5xx(self, samples: list[list]) -> int:
        return sum(1 for s in samples if s[3] >= 500)

    def failures(self, samples: list[list]) -> int:
        return sum(1 for s in samples if s[4])

    def per_server(self) -> dict[str, int]:
        return dict(sorted(Counter(s[5] or "(none)" for s in self.samples).items()))

    def around_kill(self) -> tuple[list[list], list[list]]:
        before = [s for s in self.people if s[0] < self.kill_at]
        after = [s for s in self.people if s[0] >= self.kill_at]
        return before, after

    def lines(self) -> list[str]:
        people = self.people
        out = [
            f"requests (people): {len(people)} ({len(people) / self.seconds:.1f}/s); "
            f"5xx: {self.count_5xx(people)}; failed: {self.failures(people)}",
            f"latency p50 {self.p(0.50):.0f} ms, p95 {self.p(0.95):.0f} ms, p99 {self.p(0.99):.0f} ms",
            f"sign-ins: {len(self.sign_ins)} ({len(self.sign_ins) / self.seconds:.2f}/s)",
            "answered by: " + ", ".join(f"{k} {v}" for k, v in self.per_server().items()),
        ]
        if self.hammer:
            hammer = self.hammer
            tarpitted = sum(1 for s in hammer if s[3] == 429)
            out.append(f"hammer: {len(hammer)} requests ({len(hammer) / self.seconds:.1f}/s), "
                       f"{len(hammer) - tarpitted} reached the app, {tarpitted} held and refused by the "
                       f"balancer (429), 5xx {self.count_5xx(hammer)}, "
                       f"p95 {percentile([s[2] for s in hammer], 0.95):.0f} ms")
        if self.kill_at is not None:
            before, after = self.around_kill()
            failed = [s for s in self.people if s[4]]
            settled = [s for s in after if s[0] >= self.kill_at + 1]
            out.append(f"before the kill: {len(before)} requests, {self.failures(before)} failed; after it: "
                       f"{len(after)} requests, {self.failures(after)} failed")
            out.append("each failure, by when it started (relative to the kill): " + (", ".join(
                f"{s[0] - self.kill_at:+.2f} s {s[1]} (status {s[3]})" for s in sorted(failed)) or "none"))
            out.append(f"requests started 1 s or more after the kill: {len(settled)}, "
                       f"failed: {self.failures(settled)}, answered by: "
                       + ", ".join(f"{k} {v}" for k, v in sorted(Counter(s[5] or '(none)' for s in settled).items())))
        out.extend(self.notes)
        return out

    def per_page(self) -> list[tuple[str, int, float, float]]:
        names = sorted({s[1] for s in self.samples})
        return [(n, len(ms), percentile(ms, 0.5), percentile(ms, 0.95))
                for n in names for ms in [[s[2] for s in self.samples if s[1] == n]]]


def hammer_ratio(runs: list[Run]) -> tuple[float, list[float]] | None:
    """p95 with the hammer / without: pooled over the normal and hammer runs, and each pair's own.

    The runs alternate (normal, hammer, normal, hammer...), so a slow spell
    of the machine falls on both kinds rather than on one of them.
    """
    normals = [run for run in runs if run.name.startswith("normal")]
    hammers = [run for run in runs if run.name.startswith("hammer")]
    without = percentile([s[2] for run in normals for s in run.people], 0.95)
    if not hammers or not without:
        return None
    pooled = percentile([s[2] for run in hammers for s in run.people], 0.95) / without
    return pooled, [h.p(0.95) / n.p(0.95) for n, h in zip(normals, hammers, strict=False) if n.p(0.95)]


def hammer_ratio_line(runs: list[Run]) -> str:
    ratio = hammer_ratio(runs)
    if ratio is None:
        return ""
    pooled, pairs = ratio
    each = f" (each pair: {', '.join(f'{r:.2f}×' for r in pairs)})" if len(pairs) > 1 else ""
    return f"p95 with one wrong-code hammer / p95 without: {pooled:.2f}×{each} (goal ≤ 1.10×)"


def markdown(runs: list[Run], header: list[str]) -> str:
    out = ["# `make load`", "", *header, ""]
    if line := hammer_ratio_line(runs):
        out += [f"**{line}**", ""]
    for run in runs:
        out += [f"## Run: {run.name}", "", *[f"- {line}" for line in run.lines()], "",
                "| request | count | p50 ms | p95 ms |", "| --- | ---: | ---: | ---: |"]
        out += [f"| {n} | {c} | {p50:.0f} | {p95:.0f} |" for n, c, p50, p95 in run.per_page()]
        if run.failure_reasons:
            out += ["", "| failed request | error | times |", "| --- | --- | ---: |"]
            out += [f"| {n} | {e.replace('|', '/')} | {c} |" for n, e, c in run.failure_reasons]
        out.append("")
    return "\n".join(out)
