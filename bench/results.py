"""The benchmark's one table: a row per measure, ours beside an alternative, with its target."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One measure. ``met`` is None where the issue sets no target for it (context only)."""

    case: str
    measure: str
    ours: str
    peer: str = ""
    theirs: str = ""
    ratio: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def verdict(self) -> str:
        return {True: "met", False: "MISSED", None: ""}[self.met]


COLUMNS = ("Case", "Measure", "Ours", "Compared with", "Theirs", "Ratio", "Target", "Result")


def cells(row: Row) -> tuple[str, ...]:
    return (row.case, row.measure, row.ours, row.peer, row.theirs, row.ratio, row.target, row.verdict)


def markdown_table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in cells(row)) + " |" for row in rows]
    return "\n".join(lines)


def text_table(rows: list[Row]) -> str:
    """The same table for a terminal: aligned columns."""
    grid = [COLUMNS, *(cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in grid) for i in range(len(COLUMNS))]
    rendered = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in grid
    ]
    rendered.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in rendered)


def fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def fmt_seconds(value: float) -> str:
    return f"{value:.2f} s"


def fmt_bytes(value: float) -> str:
    return f"{value:,.0f} B"
