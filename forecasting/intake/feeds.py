"""JSON and JSON-stat 2.0 bodies (statistical APIs, PX-Web) as a table the intake reader reads.

A pulled JSON body becomes a long CSV (``Chỉ tiêu,Kỳ,Giá trị`` or ``Kỳ,Giá trị``, ``.`` decimals) that
:func:`forecasting.intake.read_table` then reads like an uploaded file, so a pull is checked exactly like an
upload: the same period forms, the same catalogue matching (by code or name), the same all-or-nothing rule.

Mappings (``mapping`` argument, all keys optional):

- ``json``: ``records`` (dotted path to the list of records; default: the body itself when it is a list,
  else its ``observations`` or ``data`` list), ``period`` (default ``"period"``), ``value`` (default
  ``"value"``), ``code`` (field naming the indicator, for a catalogue-wide source).
- ``json-stat``: ``dataset`` (name of the dataset in a bundle), ``time`` (the time dimension; default: the
  one with the ``time`` role, else one named like a time), ``filter`` (``{dimension: category}`` pinning the
  other dimensions), ``code_dimension`` (the dimension whose categories are indicators, for a catalogue-wide
  source), ``codes`` (``{category: indicator code}``; default: the category's label, matched by code or name).

Example:
    >>> body = b'{"version":"2.0","class":"dataset","id":["Tid"],"size":[2],"role":{"time":["Tid"]},'
    >>> body += b'"dimension":{"Tid":{"category":{"index":["2024M01","2024M02"]}}},"value":[1.5,null]}'
    >>> rows_from_jsonstat(body)
    [FeedRow(code=None, period='2024-01', value=1.5), FeedRow(code=None, period='2024-02', value=None)]
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ForecastingError
from .text import fold

__all__ = ["FeedError", "FeedRow", "feed_to_csv", "rows_from_json", "rows_from_jsonstat", "rows_to_csv"]

_TIME_NAMES = {"time", "tid", "year", "month", "quarter", "period", "nam", "thang", "quy", "ky", "thoi gian"}
_PX_MONTH = re.compile(r"^(\d{4})\s*M\s*(\d{1,2})$", re.IGNORECASE)
_PX_QUARTER = re.compile(r"^(\d{4})\s*[QK]\s*([1-4])$", re.IGNORECASE)


class FeedError(ForecastingError):
    """The body is not the JSON the source's format and mapping describe (``code`` is ``invalid_feed``)."""

    code = "invalid_feed"


@dataclass(frozen=True)
class FeedRow:
    """One value: ``code`` names the indicator (None for a one-indicator source); ``value`` None is missing."""

    code: str | None
    period: str
    value: float | str | None


def _period(raw: Any) -> str:
    """A JSON-stat time code in the intake's forms: ``2024M01`` -> ``2024-01``, ``2024K1`` -> ``2024-Q1``."""
    text = str(raw).strip()
    if m := _PX_MONTH.match(text):
        return f"{m.group(1)}-{int(m.group(2)):02d}"
    if m := _PX_QUARTER.match(text):
        return f"{m.group(1)}-Q{m.group(2)}"
    return text


def _json(data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FeedError(f"the body is not UTF-8 JSON: {e}") from e


def _value(raw: Any, where: str) -> float | str | None:
    if raw is None or isinstance(raw, str) and not raw.strip():
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise FeedError(f"{where}: expected a number. Got: {raw!r}")
    if isinstance(raw, float) and not math.isfinite(raw):
        raise FeedError(f"{where}: expected a finite number. Got: {raw!r}")
    return raw


def rows_from_json(data: bytes, mapping: Mapping[str, Any] | None = None) -> list[FeedRow]:
    """Records ``[{"period": "2024-01", "value": 1.5}, ...]`` (fields and place set by ``mapping``)."""
    mapping = mapping or {}
    body = _json(data)
    path = mapping.get("records")
    records: Any = body
    if path:
        for key in str(path).split("."):
            if isinstance(records, dict) and key in records:
                records = records[key]
            elif isinstance(records, list) and key.isdigit() and int(key) < len(records):
                records = records[int(key)]
            else:
                raise FeedError(f"mapping.records: the body has no {key!r} on the path {path!r}")
    elif isinstance(body, dict):
        records = next((body[k] for k in ("observations", "data") if isinstance(body.get(k), list)), None)
        if records is None:
            raise FeedError("expected a list of records, or an object with an 'observations' or 'data' list")
    if not isinstance(records, list):
        raise FeedError(f"expected a list of records. Got: {type(records).__name__}")
    pf, vf, cf = str(mapping.get("period", "period")), str(mapping.get("value", "value")), mapping.get("code")
    out: list[FeedRow] = []
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise FeedError(f"record {i}: expected an object. Got: {type(rec).__name__}")
        if pf not in rec:
            raise FeedError(f"record {i}: no {pf!r} field (set mapping.period)")
        if vf not in rec:
            raise FeedError(f"record {i}: no {vf!r} field (set mapping.value)")
        code = None
        if cf:
            if rec.get(cf) in (None, ""):
                raise FeedError(f"record {i}: no {cf!r} field naming the indicator (mapping.code)")
            code = str(rec[cf])
        out.append(FeedRow(code, _period(rec[pf]), _value(rec[vf], f"record {i}")))
    if not out:
        raise FeedError("the body holds no records")
    return out


def _categories(name: str, dim: Any) -> tuple[list[str], dict[str, str]]:
    """A dimension's category ids in index order, and their labels."""
    cat = dim.get("category") if isinstance(dim, dict) else None
    if not isinstance(cat, dict):
        raise FeedError(f"dimension {name!r} has no category")
    labels = cat.get("label") or {}
    index = cat.get("index")
    if isinstance(index, list):
        ids = [str(i) for i in index]
    elif isinstance(index, dict):
        ids = [str(k) for k, _ in sorted(index.items(), key=lambda kv: int(kv[1]))]
    elif isinstance(labels, dict) and len(labels) == 1:
        ids = [str(next(iter(labels)))]
    else:
        raise FeedError(f"dimension {name!r} has no category index")
    return ids, {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def _dataset(body: Any, name: str | None) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise FeedError("expected a JSON-stat object")
    if body.get("class") == "dataset" or ("dimension" in body and "value" in body):
        return body
    if body.get("class") == "collection":
        raise FeedError("a JSON-stat collection: point the source at one dataset's URL")
    datasets = {k: v for k, v in body.items() if isinstance(v, dict) and "dimension" in v}
    if name is not None:
        if name not in datasets:
            raise FeedError(f"mapping.dataset: no dataset {name!r} in the bundle; it has {sorted(datasets)}")
        return datasets[name]
    if len(datasets) != 1:
        raise FeedError(f"expected a JSON-stat 2.0 dataset; name one with mapping.dataset among {sorted(datasets)}")
    return next(iter(datasets.values()))


def rows_from_jsonstat(data: bytes, mapping: Mapping[str, Any] | None = None) -> list[FeedRow]:
    """A JSON-stat 2.0 dataset (as PX-Web serves it) as rows: one per time category (and per indicator
    category for a catalogue-wide source); every other dimension must have one category or be pinned."""
    mapping = mapping or {}
    ds = _dataset(_json(data), mapping.get("dataset"))
    ids, sizes, dims = ds.get("id"), ds.get("size"), ds.get("dimension")
    if not (isinstance(ids, list) and isinstance(sizes, list) and isinstance(dims, dict)) or len(ids) != len(sizes):
        raise FeedError("a JSON-stat 2.0 dataset needs 'id', 'size' and 'dimension' of the same dimensions")
    ids = [str(i) for i in ids]
    cats = {d: _categories(d, dims.get(d)) for d in ids}
    for d, n in zip(ids, sizes, strict=True):
        if len(cats[d][0]) != int(n):
            raise FeedError(f"dimension {d!r}: size {n} but {len(cats[d][0])} categories")
    time_dim = mapping.get("time")
    if time_dim is None:
        roles = (ds.get("role") or {}).get("time") or []
        time_dim = roles[0] if roles else next((d for d in ids if fold(d) in _TIME_NAMES), None)
    if time_dim not in ids:
        raise FeedError(f"no time dimension among {ids}: name it with mapping.time")
    code_dim = mapping.get("code_dimension")
    if code_dim is not None and code_dim not in ids:
        raise FeedError(f"mapping.code_dimension: no dimension {code_dim!r} among {ids}")
    pinned: dict[str, int] = {}
    filters = dict(mapping.get("filter") or {})
    for d in ids:
        if d in (time_dim, code_dim):
            continue
        cat_ids, labels = cats[d]
        if d in filters:
            want = str(filters.pop(d))
            match = [i for i, c in enumerate(cat_ids) if want in (c, labels.get(c))]
            if not match:
                raise FeedError(f"mapping.filter: dimension {d!r} has no category {want!r}; it has {cat_ids[:20]}")
            pinned[d] = match[0]
        elif len(cat_ids) == 1:
            pinned[d] = 0
        else:
            raise FeedError(
                f"dimension {d!r} has {len(cat_ids)} categories: pin one with mapping.filter"
                + ("" if code_dim else " (or make it the indicators with mapping.code_dimension)")
            )
    if filters:
        raise FeedError(f"mapping.filter names dimensions the dataset lacks: {sorted(filters)}")
    strides = [1] * len(ids)
    for k in range(len(ids) - 2, -1, -1):
        strides[k] = strides[k + 1] * int(sizes[k + 1])
    raw_values = ds.get("value")
    total = math.prod(int(n) for n in sizes)

    def value_at(flat: int) -> Any:
        if isinstance(raw_values, list):
            if len(raw_values) != total:
                raise FeedError(f"'value' has {len(raw_values)} cells; the dimensions' sizes make {total}")
            return raw_values[flat]
        if isinstance(raw_values, dict):
            return raw_values.get(str(flat))
        raise FeedError("a JSON-stat dataset needs 'value' as a list or an object")

    codes_map = {str(k): str(v) for k, v in (mapping.get("codes") or {}).items()}
    code_positions: Sequence[int | None] = range(len(cats[code_dim][0])) if code_dim else [None]
    out: list[FeedRow] = []
    for c in code_positions:
        code = None
        if code_dim is not None and c is not None:
            cid = cats[code_dim][0][c]
            code = codes_map.get(cid) or cats[code_dim][1].get(cid) or cid
        for t, tid in enumerate(cats[time_dim][0]):
            pos: dict[str, int] = {**pinned, str(time_dim): t}
            if code_dim is not None and c is not None:
                pos[code_dim] = c
            flat = sum(strides[k] * pos[d] for k, d in enumerate(ids))
            out.append(FeedRow(code, _period(tid), _value(value_at(flat), f"value at {time_dim}={tid}")))
    return out


def rows_to_csv(rows: Sequence[FeedRow]) -> bytes:
    """Rows as the long CSV the intake reader reads (``Chỉ tiêu,Kỳ,Giá trị`` or ``Kỳ,Giá trị``)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    with_code = any(r.code is not None for r in rows)
    w.writerow(["Chỉ tiêu", "Kỳ", "Giá trị"] if with_code else ["Kỳ", "Giá trị"])
    for r in rows:
        if r.value is None:
            value = ""
        elif isinstance(r.value, str):
            value = r.value
        else:  # positional and exact: the reader takes no exponents
            value = np.format_float_positional(float(r.value), trim="-")
        w.writerow([r.code or "", r.period, value] if with_code else [r.period, value])
    return buf.getvalue().encode("utf-8")


def feed_to_csv(data: bytes, fmt: str, mapping: Mapping[str, Any] | None = None) -> bytes:
    """A ``json`` or ``json-stat`` body as the intake reader's long CSV."""
    if fmt == "json":
        return rows_to_csv(rows_from_json(data, mapping))
    if fmt == "json-stat":
        return rows_to_csv(rows_from_jsonstat(data, mapping))
    raise FeedError(f"unknown feed format {fmt!r}; expected 'json' or 'json-stat'")
