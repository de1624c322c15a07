"""The pipeline configuration: the object registered in MLflow as the ``forecasting`` model.

A :class:`PipelineConfig` fully describes how a series becomes a forecast: which candidate methods run,
how they are selected or combined after a rolling-origin backtest, the backtest windows, the Tết
regressor, and the interval calibration (multipliers of the backtest error scale per frequency and level).
It is small, frozen and round-trips through JSON (:meth:`PipelineConfig.to_dict` /
:meth:`PipelineConfig.from_dict`), so two versions differ only in these fields.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from .errors import ForecastingError

__all__ = [
    "PipelineConfig",
    "METHODS",
    "COMBINATIONS",
    "DEFAULT_CALIBRATION",
    "DEFAULT_HORIZONS",
    "DEFAULT_POOLS",
]

#: Candidate methods understood by the automatic forecaster.
METHODS = ("ets", "ses", "holt", "damped", "theta", "ar", "naive", "seasonal_naive", "drift", "arima")
#: Combination rules: ``mean``/``median`` of all candidates, ``best`` (lowest backtest error), ``top_k`` (mean
#: of the k best), ``inverse_error`` (weights proportional to backtest error ** -weight_power).
COMBINATIONS = ("mean", "median", "best", "top_k", "inverse_error")
FREQUENCIES = ("M", "Q", "Y", "I")

#: Interval multipliers of the per-step backtest error scale, per frequency and level: leave-one-window-out
#: calibration (:func:`forecasting.backtest.calibrate`) pooled over the TRAINING parts of M3 (3,003 series)
#: and Tourism (1,311), official horizons; never their test parts. "I" (integer index, no seasonality) comes
#: from M3 "Other". Recalibrate on a center's own indicators with ``calibrate``.
DEFAULT_CALIBRATION: dict[str, dict[str, float]] = {
    "M": {"80": 1.104, "95": 2.011},
    "Q": {"80": 1.401, "95": 2.281},
    "Y": {"80": 1.613, "95": 2.799},
    "I": {"80": 1.289, "95": 2.151},
}

#: Per-frequency candidate pools that replace ``methods`` / ``combination`` for that frequency. Chosen on the
#: TRAINING parts of M3 and Tourism with each series' last horizon held out
#: (``python -m experiments.forecast_benchmark --validation``), never on their test parts: adding drift helped
#: the yearly series of both data sets; for series on an integer index (M3 "Other": smooth, trending, not
#: seasonal) the mean of the smoothing methods and the least-squares AR model did best. Monthly and quarterly
#: series gained from neither. The figures are in experiments/results/forecast_benchmark_validation.json.
DEFAULT_POOLS: dict[str, dict[str, Any]] = {
    "Y": {"methods": ["ets", "damped", "theta", "seasonal_naive", "drift"], "combination": "median"},
    "I": {"methods": ["ets", "damped", "theta", "ar"], "combination": "mean"},
}

#: Internal horizon per frequency (periods): every series is backtested, its candidates weighed and its interval
#: scale measured at this horizon, whatever horizon the caller asks for; a forecast for ``h`` periods is the
#: first ``h`` steps of this one (steps beyond it extend the same candidates, weights and per-step error law).
#: So a period's forecast distribution never depends on how far beyond it the caller looks. These are the
#: official M3 horizons, on which :data:`DEFAULT_CALIBRATION` was measured (the multipliers belong to the
#: error scale at these horizons).
DEFAULT_HORIZONS: dict[str, int] = {"M": 18, "Q": 8, "Y": 6, "I": 8}

SCHEMA_VERSION = 1


def _check_pool(methods: tuple[str, ...] | list[str], combination: str, where: str) -> None:
    bad = [m for m in methods if m not in METHODS]
    if not methods or bad:
        raise ForecastingError(f"{where}methods must be a non-empty subset of {METHODS}. Got: {list(methods)}")
    if combination not in COMBINATIONS:
        raise ForecastingError(f"{where}combination must be one of {COMBINATIONS}. Got: {combination!r}")


@dataclass(frozen=True)
class PipelineConfig:
    """Complete description of the forecasting pipeline.

    Attributes:
        methods: candidate methods (names from :data:`METHODS`), all run on every series of a frequency that
            ``pools`` does not list.
        combination: rule from :data:`COMBINATIONS` turning the candidates into one forecast (same scope).
        pools: per frequency (``M``, ``Q``, ``Y``, ``I``), ``{"methods": [...], "combination": "..."}`` used
            instead of ``methods`` / ``combination`` (either key may be left out). Give ``{}`` for one pool
            everywhere. Defaults: :data:`DEFAULT_POOLS`.
        top_k: number of best candidates averaged by ``top_k``.
        weight_power: exponent of ``inverse_error`` weights.
        backtest_windows: rolling origins used for selection, weights and interval scales.
        backtest_step: periods between origins; 0 means ``max(1, internal horizon // 3)``.
        horizons: internal horizon per frequency (periods, see :data:`DEFAULT_HORIZONS`): the backtest, the
            combination weights and the interval scale are measured at this horizon, or at the largest a
            short series supports (:func:`forecasting.auto.internal_horizon`), never at the horizon asked
            for, so a forecast for ``h`` periods equals the first ``h`` periods of any longer one.
        min_train: fewest observations a backtest window trains on; fewer windows are used otherwise.
        seasonality_test: one-sided z of the autocorrelation test for
            seasonality (1.28 = 80%; the M3 Theta method used 90%).
        season_window: seasons (years) of recent data that estimate the seasonal indices (0 = all); seasonal
            patterns drift, so old years mislead.
        tet_regressor: adjust monthly calendar series for the lunar new year (see :mod:`forecasting.tet`).
        tet_window: days before and after the first day of Tết that make up the holiday window.
        ets_multiplicative_errors: frequencies for which ``ets`` also weighs multiplicative-error models
            (ETS M,N|A|Ad,N, by AICc against the additive ones). Chosen on the training parts of M3 and
            Tourism (last horizon held out): it helps monthly and quarterly series and hurts yearly ones.
        calibration: per frequency (``M``, ``Q``, ``Y``, ``I``), per level (``"80"``) interval multipliers of
            the per-step backtest RMS error; other levels interpolate on the normal quantile scale.
        min_length: shortest series accepted (shorter series raise).
        name: free label shown in reports.
    """

    methods: tuple[str, ...] = ("ets", "damped", "theta", "seasonal_naive")
    combination: str = "median"
    pools: dict[str, dict[str, Any]] = field(default_factory=lambda: json.loads(json.dumps(DEFAULT_POOLS)))
    top_k: int = 3
    weight_power: float = 1.0
    backtest_windows: int = 3
    backtest_step: int = 0
    horizons: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_HORIZONS))
    min_train: int = 6
    seasonality_test: float = 1.28
    season_window: int = 8
    tet_regressor: bool = True
    tet_window: tuple[int, int] = (7, 14)
    ets_multiplicative_errors: tuple[str, ...] = ("M", "Q")
    calibration: dict[str, dict[str, float]] = field(
        default_factory=lambda: json.loads(json.dumps(DEFAULT_CALIBRATION))
    )
    min_length: int = 3
    name: str = "auto"

    def __post_init__(self) -> None:
        _check_pool(self.methods, self.combination, "")
        if not isinstance(self.pools, dict):
            raise ForecastingError(f"pools must map frequencies to pools. Got: {self.pools!r}")
        pools: dict[str, dict[str, Any]] = {}
        for freq, pool in self.pools.items():
            if freq not in FREQUENCIES or not isinstance(pool, dict) or set(pool) - {"methods", "combination"}:
                raise ForecastingError(
                    f"pools must map frequencies in {FREQUENCIES} to {{'methods': [...], 'combination': ...}}."
                    f" Got: {freq!r}: {pool!r}"
                )
            given_methods = tuple(pool.get("methods", self.methods))
            _check_pool(given_methods, pool.get("combination", self.combination), f"pools[{freq!r}]: ")
            # kept as given: a key left out follows ``methods`` / ``combination``, also after ``with_``
            pools[str(freq)] = {k: (list(v) if k == "methods" else v) for k, v in pool.items()}
        if self.top_k < 1:
            raise ForecastingError(f"top_k must be >= 1. Got: {self.top_k}")
        if self.backtest_windows < 0 or self.backtest_step < 0:
            raise ForecastingError(
                f"backtest_windows and backtest_step must be >= 0. Got: {self.backtest_windows}, {self.backtest_step}"
            )
        if (
            not isinstance(self.horizons, dict)
            or set(self.horizons) - set(FREQUENCIES)
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in self.horizons.values())
        ):
            raise ForecastingError(
                f"horizons must map frequencies in {FREQUENCIES} to integers >= 1. Got: {self.horizons!r}"
            )
        if self.season_window < 0 or self.season_window == 1:
            raise ForecastingError(f"season_window must be 0 (all) or >= 2 seasons. Got: {self.season_window}")
        if self.min_train < 2 or self.min_length < 1:
            raise ForecastingError(
                f"min_train must be >= 2 and min_length >= 1. Got: {self.min_train}, {self.min_length}"
            )
        for freq, levels in self.calibration.items():
            if freq not in FREQUENCIES:
                raise ForecastingError(f"calibration keys must be in {FREQUENCIES}. Got: {freq!r}")
            for lv, mult in levels.items():
                if not 0 < float(lv) < 100 or not mult > 0:
                    raise ForecastingError(
                        f"calibration must map levels in (0, 100) to multipliers > 0. Got: {lv}: {mult}"
                    )
        bad_freqs = [f for f in self.ets_multiplicative_errors if f not in FREQUENCIES]
        if bad_freqs:
            raise ForecastingError(f"ets_multiplicative_errors must be a subset of {FREQUENCIES}. Got: {bad_freqs}")
        # keep the object hashable-ish and immutable in spirit: normalise tuples
        object.__setattr__(self, "methods", tuple(self.methods))
        object.__setattr__(self, "ets_multiplicative_errors", tuple(self.ets_multiplicative_errors))
        object.__setattr__(self, "tet_window", tuple(int(v) for v in self.tet_window))
        object.__setattr__(self, "pools", pools)

    def pool(self, freq: str) -> tuple[tuple[str, ...], str]:
        """Candidate methods and combination rule for series of frequency ``freq``."""
        entry = self.pools.get(freq, {})
        return tuple(entry.get("methods", self.methods)), str(entry.get("combination", self.combination))

    def horizon(self, freq: str) -> int:
        """Internal horizon (periods) for series of frequency ``freq`` (:data:`DEFAULT_HORIZONS` if not set)."""
        return int(self.horizons.get(freq, DEFAULT_HORIZONS.get(freq, DEFAULT_HORIZONS["I"])))

    def describe(self) -> str:
        """One line: the pools, e.g. ``median of ets, theta; Y: median of ets, drift``."""
        parts = [f"{self.combination} of {', '.join(self.methods)}"]
        for freq in sorted(self.pools):
            methods, combination = self.pool(freq)
            parts.append(f"{freq}: {combination} of {', '.join(methods)}")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (lists instead of tuples) with a ``schema_version``."""
        d = asdict(self)
        d["methods"] = list(self.methods)
        d["tet_window"] = list(self.tet_window)
        d["ets_multiplicative_errors"] = list(self.ets_multiplicative_errors)
        d["schema_version"] = SCHEMA_VERSION
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PipelineConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise :class:`ForecastingError`."""
        d = dict(data)
        version = d.pop("schema_version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise ForecastingError(
                f"unsupported PipelineConfig schema_version. Expected {SCHEMA_VERSION}. Got: {version}"
            )
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(d) - known)
        if unknown:
            raise ForecastingError(f"unknown PipelineConfig fields: {unknown}. Expected a subset of {sorted(known)}")
        if "methods" in d:
            d["methods"] = tuple(d["methods"])
        if "tet_window" in d:
            d["tet_window"] = tuple(d["tet_window"])
        if "ets_multiplicative_errors" in d:
            d["ets_multiplicative_errors"] = tuple(d["ets_multiplicative_errors"])
        # A version saved before per-frequency pools existed used its methods for every frequency: keep that.
        d.setdefault("pools", {})
        if "horizons" in d:
            d["horizons"] = {str(f): int(v) for f, v in d["horizons"].items()}
        if "calibration" in d:
            d["calibration"] = {str(f): {str(k): float(v) for k, v in lv.items()} for f, lv in d["calibration"].items()}
        return cls(**d)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> PipelineConfig:
        return cls.from_dict(json.loads(text))

    def with_(self, **changes: Any) -> PipelineConfig:
        """Copy with some fields changed (``dataclasses.replace``)."""
        return replace(self, **changes)
