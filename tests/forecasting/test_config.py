from __future__ import annotations

import json

import pytest

from forecasting import ForecastingError, PipelineConfig


def test_json_round_trip() -> None:
    cfg = PipelineConfig(methods=("ets", "theta"), combination="inverse_error", name="v2")
    again = PipelineConfig.from_json(cfg.to_json())
    assert again == cfg
    assert json.loads(cfg.to_json())["schema_version"] == 1
    assert PipelineConfig.from_json(
        cfg.with_(ets_multiplicative_errors=("M",)).to_json()
    ).ets_multiplicative_errors == ("M",)


def test_config_without_newer_fields_loads_with_defaults() -> None:
    """A version registered before ``ets_multiplicative_errors`` existed still loads."""
    old = PipelineConfig().to_dict()
    del old["ets_multiplicative_errors"]
    assert PipelineConfig.from_dict(old).ets_multiplicative_errors == ("M", "Q")


@pytest.mark.parametrize(
    "changes",
    [
        {"methods": ("prophet",)},
        {"methods": ()},
        {"combination": "vote"},
        {"top_k": 0},
        {"calibration": {"M": {"120": 1.0}}},
        {"ets_multiplicative_errors": ("W",)},
        {"pools": {"W": {"methods": ["ets"]}}},
        {"pools": {"Y": {"methods": ["prophet"]}}},
        {"pools": {"Y": {"combination": "vote"}}},
        {"pools": {"Y": {"method": ["ets"]}}},
        {"pools": {"Y": ["ets"]}},
        {"pools": ["Y"]},
    ],
)
def test_invalid(changes) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ForecastingError):
        PipelineConfig(**changes)


def test_unknown_field() -> None:
    with pytest.raises(ForecastingError, match="unknown"):
        PipelineConfig.from_dict({"methods": ["ets"], "colour": "red"})


def test_pools_round_trip_and_resolve() -> None:
    cfg = PipelineConfig(pools={"Q": {"methods": ["ets", "drift"]}, "Y": {"combination": "mean"}})
    again = PipelineConfig.from_json(cfg.to_json())
    assert again == cfg
    assert again.pool("Q") == (("ets", "drift"), cfg.combination)
    assert again.pool("Y") == (cfg.methods, "mean")
    assert again.pool("M") == (cfg.methods, cfg.combination)
    assert "Q: median of ets, drift" in again.describe()
    # a pool that leaves methods out follows them when they change
    assert again.with_(methods=("theta", "naive")).pool("Y") == (("theta", "naive"), "mean")


def test_config_saved_before_pools_keeps_one_pool() -> None:
    """A version registered before per-frequency pools existed forecasts every frequency as it did."""
    old = PipelineConfig().to_dict()
    del old["pools"]
    cfg = PipelineConfig.from_dict(old)
    assert cfg.pools == {}
    assert cfg.pool("Y") == (cfg.methods, cfg.combination)
