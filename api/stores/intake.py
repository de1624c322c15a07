"""Observations from files: an office's file read against the catalogue (one indicator's rows, or a report
matched to the whole catalogue) and stored, audited. The upload routes and the scheduled pulls of sources
share these functions, so a pulled file is checked and stored exactly like an uploaded one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from api import audit
from api.auth import Principal
from api.errors import InvalidInput, NotFound
from api.services import Services
from api.storage.tables import Indicator
from api.stores.indicators import UpsertResult, upsert_pairs
from forecasting.intake import IntakeLimits, IntakeOptions, IntakeResult, read_table

DecimalOpt = Literal[",", "."] | None


@dataclass(frozen=True)
class ReadOptions:
    """What the caller says about a file: decimal separator, sheet, year of period columns without one."""

    decimal: DecimalOpt = None
    sheet: str | None = None
    year: int | None = None


def intake_limits(services: Services) -> IntakeLimits:
    cfg = services.settings.intake
    return IntakeLimits(
        max_bytes=cfg.max_bytes,
        max_rows=cfg.max_rows,
        max_cells=cfg.max_cells,
        max_problems=cfg.max_problems,
        max_xlsx_uncompressed=cfg.max_uncompressed_bytes,
    )


def get_indicator(session: Session, code: str) -> Indicator:
    ind = session.get(Indicator, code)
    if ind is None:
        raise NotFound(f"indicator {code!r} not found")
    return ind


def read_indicator_file(
    services: Services,
    code: str,
    data: bytes,
    filename: str | None,
    content_type: str | None,
    opts: ReadOptions,
) -> tuple[IntakeResult, list[tuple[str, float]]]:
    """The file read for indicator ``code`` (its frequency expected, its rows taken by code or name): the
    reader's result and the ``(period, value)`` pairs to store. Raises when the file holds none."""
    with services.db.session() as s:
        ind = get_indicator(s, code)
        frequency, name = ind.frequency, ind.name
    options = IntakeOptions(
        frequency=frequency,  # type: ignore[arg-type]
        decimal=opts.decimal,
        sheet=opts.sheet,
        year=opts.year,
        catalogue=((code, name),),
        limits=intake_limits(services),
    )
    res = read_table(data, filename, content_type, options)
    pairs = res.one_series(code)
    if not pairs:
        raise InvalidInput(f"the file holds no values for {code!r} (every cell is missing)", code="no_observations")
    return res, pairs


def read_report_file(
    services: Services,
    data: bytes,
    filename: str | None,
    content_type: str | None,
    opts: ReadOptions,
    allow_unmatched: bool,
) -> tuple[IntakeResult, dict[str, list[tuple[str, float]]]]:
    """A report matched to the whole catalogue: the reader's result and ``{code: pairs}``. Rows with values
    that match no indicator refuse it unless ``allow_unmatched``; every matched indicator's frequency must be
    the file's."""
    with services.db.session() as s:
        catalogue = {i.code: (i.name, i.frequency) for i in s.scalars(select(Indicator).order_by(Indicator.code))}
    if not catalogue:
        raise InvalidInput("the catalogue is empty: define the indicators first", code="empty_catalogue")
    options = IntakeOptions(
        decimal=opts.decimal,
        sheet=opts.sheet,
        year=opts.year,
        catalogue=tuple((c, n) for c, (n, _) in catalogue.items()),
        limits=intake_limits(services),
    )
    res = read_table(data, filename, content_type, options)
    check_report(res, catalogue, allow_unmatched)
    return res, {c: pairs for c, pairs in res.by_code().items() if c is not None}


def check_report(res: IntakeResult, catalogue: dict[str, tuple[str, str]], allow_unmatched: bool) -> None:
    with_values = [u for u in res.unmatched if u.n_values > 0]
    if with_values and not allow_unmatched:
        listed = "; ".join(f"row {u.row}: {u.code or u.name!r} ({u.reason_en})" for u in with_values[:5])
        raise InvalidInput(
            f"{len(with_values)} rows with values match no indicator of the catalogue, nothing was stored: {listed}. "
            "Define them, fix their codes or names, or send allow_unmatched=true to store the matched rows",
            code="unmatched_rows",
            detail={"unmatched": [u.to_dict() for u in with_values]},
        )
    codes = [c for c in res.codes if c is not None]
    if not codes:
        raise InvalidInput(
            "no row of the file matches an indicator of the catalogue (by code or name), nothing was stored",
            code="no_observations",
            detail={"unmatched": [u.to_dict() for u in res.unmatched]},
        )
    wrong = [
        {"indicator": c, "frequency": catalogue[c][1], "file_frequency": res.frequency}
        for c in codes
        if catalogue[c][1] != res.frequency
    ]
    if wrong:
        raise InvalidInput(
            f"the file is {res.frequency}-frequency but "
            + ", ".join(f"{w['indicator']!r} is {w['frequency']}" for w in wrong)
            + "; nothing was stored. Send these indicators' rows in a file of their frequency",
            code="wrong_frequency",
            detail=wrong,
        )


def serving_config(services: Services) -> tuple[Any, str]:
    """The champion forecasting pipeline's configuration and version (for the anomaly check), or (None, "")."""
    try:
        served = services.champions.get("forecasting")
    except Exception:  # no forecasting model: store the data, skip the anomaly check
        return None, ""
    return served.model.config, served.version


def store_series(
    services: Services,
    session: Session,
    ind: Indicator,
    pairs: list[tuple[str, float]],
    who: Principal,
    note: str,
    config: tuple[Any, str] | None = None,
) -> UpsertResult:
    """Upsert one indicator's pairs in the caller's transaction and audit it: where every upload and every
    pull ends. ``config`` is :func:`serving_config`'s answer when the caller already has it."""
    pipeline, version = config if config is not None else serving_config(services)
    result = upsert_pairs(session, ind, pairs, who, pipeline, version, note)
    audit.record(
        session,
        who,
        "observations.upsert",
        "indicator",
        ind.code,
        {
            "inserted": result.inserted,
            "revised": result.revised,
            "unchanged": result.unchanged,
            "anomalies": len(result.anomalies),
            "note": note,
        },
    )
    return result
