"""The exception tree of :mod:`forecasting`."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ForecastingError", "NotFittedError", "RowProblem", "SeriesError"]


class ForecastingError(ValueError):
    """Base of every error raised by :mod:`forecasting` (a ``ValueError``, so ``except ValueError`` works).

    Like every library error here it carries ``code`` (short, machine-readable) and ``detail`` (JSON-ready
    data about the bad input, or ``None``).
    """

    code: str = "forecasting_error"

    @property
    def detail(self) -> object:
        return None


class NotFittedError(ForecastingError, AttributeError):
    """``predict`` was called before ``fit``."""


@dataclass(frozen=True)
class RowProblem:
    """One problem in the input: ``line`` is the 1-based line of the file (header = line 1) or ``None``."""

    line: int | None
    column: str | None
    problem: str

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column:
            where.append(f"column {self.column!r}")
        return (", ".join(where) + ": " if where else "") + self.problem


class SeriesError(ForecastingError):
    """Invalid observations. ``problems`` lists every row-level problem found (all rows are checked)."""

    code = "series_error"

    @property
    def detail(self) -> object:
        return [{"line": p.line, "column": p.column, "problem": p.problem} for p in self.problems] or None

    def __init__(self, message: str, problems: list[RowProblem] | None = None) -> None:
        self.problems: list[RowProblem] = list(problems or [])
        shown = "; ".join(str(p) for p in self.problems[:10])
        more = f" (and {len(self.problems) - 10} more)" if len(self.problems) > 10 else ""
        super().__init__(f"{message}: {shown}{more}" if shown else message)
