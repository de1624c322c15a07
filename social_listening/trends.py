"""Trends of scored posts and spike alerts on negative talk.

:func:`summarize_trends` counts posts per sentiment label per time bucket (hour, day or week), overall
or per topic or per district, with shares. :func:`detect_spikes` flags buckets whose negative count
(or share) jumps above a robust baseline: the rolling median of the previous ``window`` buckets plus
``threshold`` times the scaled median absolute deviation (MAD x 1.4826, floored so that a flat history
still needs a real jump). Each alert names the topic that drove it (the topic whose negative count rose
most above its own baseline in that bucket) and carries the ids of its negative posts ranked by their
contribution: that topic's posts first, most negative first.

Posts are given as mappings (or a pandas DataFrame), one per post:

=================  ==================================================================================
``id``             str (any value is turned into str)
``created_at``     datetime or ISO 8601 string; naive datetimes are local (``Asia/Ho_Chi_Minh``)
``label``          the model's label: ``negative`` / ``neutral`` / ``positive``
``human_label``    optional: an analyst's label; when set (not ``None`` / ``""``) it replaces ``label``
                   everywhere (counts, alerts, ranking: a post labelled negative by a person ranks as
                   certain, score 1.0)
``score_negative`` optional: the model's probability of ``negative`` (0..1), used to rank examples
                   (``scores={"negative": p, ...}`` is read as well); missing: 1.0 for a negative post
``topics``         optional: list of topic codes (or a single ``topic``); missing or empty: ``other``
``district``       optional: str
=================  ==================================================================================

Buckets are computed in the province's local time (``Asia/Ho_Chi_Minh`` unless told otherwise).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from social_listening.errors import SocialListeningError

__all__ = ["Alert", "AlertOptions", "BucketCounts", "TrendSummary", "detect_spikes", "summarize_trends"]

Interval = Literal["hour", "day", "week"]
GroupBy = Literal["topic", "district"] | None
_LABELS = ("negative", "neutral", "positive")
_STEP = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}


@dataclass(frozen=True)
class BucketCounts:
    """Posts of one bucket (and one group): ``counts`` and ``shares`` (0..1) by label."""

    start: datetime
    group: str | None
    total: int
    counts: Mapping[str, int]
    shares: Mapping[str, float]


@dataclass(frozen=True)
class TrendSummary:
    """Buckets ordered by group, then start; empty buckets between the first and last are included."""

    interval: str
    group_by: str | None
    buckets: tuple[BucketCounts, ...]


@dataclass(frozen=True)
class AlertOptions:
    """Spike detection settings.

    Attributes:
        metric: ``count`` (negative posts per bucket) or ``share`` (negative / all posts).
        window: number of previous buckets forming the baseline.
        min_history: fewest previous buckets needed before a bucket can alert.
        threshold: robust z-score above which a bucket alerts.
        min_negative: fewest negative posts in a bucket for it to alert.
        min_scale: floor of the MAD-based scale (posts for ``count``, share for ``share``).
        max_evidence: most post ids attached to one alert.
    """

    metric: Literal["count", "share"] = "count"
    window: int = 14
    min_history: int = 5
    threshold: float = 3.5
    min_negative: int = 5
    min_scale: float = 1.0
    max_evidence: int = 50


@dataclass(frozen=True)
class Alert:
    """A spike of negative talk in one bucket (and group).

    Attributes:
        start, end: the bucket, local time (end excluded).
        group: the topic / district of the alert, ``None`` for the overall series.
        metric, value, baseline, scale, z_score: the alerting series (``count``: negative posts; ``share``:
            negative / all, 0..1), its rolling median, its MAD-based scale and the robust z-score.
        negative, total: negative and all posts of the bucket (and group).
        topic: the topic that drove the spike: the group itself for ``group_by="topic"``, otherwise the
            topic whose negative count in this bucket rose most above its median over the same previous
            buckets (``None`` only when no post has a topic, which cannot happen: untagged posts are
            ``other``).
        topic_negative: negative posts of ``topic`` in the bucket (and group).
        topic_baseline: median negative posts of ``topic`` per bucket over the previous ``window`` buckets.
        post_ids: ids of the negative posts (at most ``max_evidence``) ranked by contribution: posts of
            ``topic`` first, then the others; within each, most negative first (``score_negative``;
            1.0 for an analyst's negative label), then oldest first. The first few are the examples to
            show.
    """

    start: datetime
    end: datetime
    group: str | None
    metric: str
    value: float
    baseline: float
    scale: float
    z_score: float
    negative: int
    total: int
    post_ids: tuple[str, ...]
    topic: str | None = None
    topic_negative: int = 0
    topic_baseline: float = 0.0


@dataclass(frozen=True)
class _Post:
    id: str
    at: datetime
    label: str  # the effective label: the analyst's when given, else the model's
    groups: tuple[str | None, ...]
    topics: tuple[str, ...]
    negativity: float  # how negative the post is, for ranking examples (0..1)


def _rows(posts: Any) -> list[Mapping[str, Any]]:
    if hasattr(posts, "to_dict") and hasattr(posts, "columns"):  # pandas DataFrame
        return list(posts.to_dict(orient="records"))
    if isinstance(posts, Mapping) or not isinstance(posts, Iterable):
        raise SocialListeningError(f"expected a list of posts or a DataFrame. Got: {type(posts).__name__}")
    return [p if isinstance(p, Mapping) else vars(p) for p in posts]


def _label(row: Mapping[str, Any], i: int) -> str:
    human = row.get("human_label")
    label = human if human not in (None, "") and human == human else row["label"]  # NaN from pandas
    if label not in _LABELS:
        field = "human_label" if label is human else "label"
        raise SocialListeningError(f"posts[{i}].{field}: expected a label in {_LABELS}. Got: {label!r}")
    return str(label)


def _negativity(row: Mapping[str, Any], label: str, i: int) -> float:
    if label != "negative":
        return 0.0
    human = row.get("human_label")
    if human not in (None, "") and human == human:
        return 1.0  # a person said negative
    score = row.get("score_negative")
    if score is None and isinstance(row.get("scores"), Mapping):
        score = row["scores"].get("negative")
    if score is None or score != score:
        return 1.0
    try:
        value = float(score)
    except (TypeError, ValueError) as e:
        raise SocialListeningError(f"posts[{i}].score_negative: expected a number in 0..1. Got: {score!r}") from e
    if not 0.0 <= value <= 1.0:
        raise SocialListeningError(f"posts[{i}].score_negative: expected a number in 0..1. Got: {value}")
    return value


def _topics(row: Mapping[str, Any]) -> tuple[str, ...]:
    topics = row.get("topics")
    if topics is None or (isinstance(topics, float) and topics != topics):
        topics = [row["topic"]] if row.get("topic") else []
    if isinstance(topics, str):
        topics = [topics]
    return tuple(dict.fromkeys(str(t) for t in topics)) or ("other",)


def _parse(posts: Any, group_by: GroupBy, tz: ZoneInfo) -> list[_Post]:
    if group_by not in (None, "topic", "district"):
        raise SocialListeningError(f"group_by: expected None, 'topic' or 'district'. Got: {group_by!r}")
    out: list[_Post] = []
    for i, row in enumerate(_rows(posts)):
        missing = [k for k in ("id", "created_at", "label") if row.get(k) is None]
        if missing:
            raise SocialListeningError(f"posts[{i}]: expected fields id, created_at, label. Missing: {missing}")
        label = _label(row, i)
        at = row["created_at"]
        if isinstance(at, str):
            try:
                at = datetime.fromisoformat(at.replace("Z", "+00:00"))
            except ValueError as e:
                raise SocialListeningError(f"posts[{i}]: expected an ISO 8601 created_at. Got: {at!r}") from e
        if hasattr(at, "to_pydatetime"):
            at = at.to_pydatetime()
        if not isinstance(at, datetime):
            raise SocialListeningError(f"posts[{i}]: expected a datetime created_at. Got: {at!r}")
        at = at.replace(tzinfo=tz) if at.tzinfo is None else at.astimezone(tz)
        topics = _topics(row)
        groups: tuple[str | None, ...]
        if group_by == "topic":
            groups = topics
        elif group_by == "district":
            district = row.get("district")
            groups = (str(district) if district not in (None, "") and district == district else "unknown",)
        else:
            groups = (None,)
        out.append(_Post(str(row["id"]), at, label, groups, topics, _negativity(row, label, i)))
    return out


def _bucket_start(at: datetime, interval: Interval) -> datetime:
    if interval == "hour":
        return at.replace(minute=0, second=0, microsecond=0)
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if interval == "day":
        return day
    return day - timedelta(days=day.weekday())  # weeks start on Monday


def _advance(start: datetime, interval: Interval, tz: ZoneInfo) -> datetime:
    # Step in wall-clock time, then re-attach the zone (Vietnam has no DST, other zones might).
    return (start.replace(tzinfo=None) + _STEP[interval]).replace(tzinfo=tz)


def _grouped(
    posts: Any, interval: Interval, group_by: GroupBy, timezone: str
) -> tuple[dict[str | None, list[tuple[datetime, list[_Post]]]], ZoneInfo]:
    if interval not in _STEP:
        raise SocialListeningError(f"interval: expected one of {tuple(_STEP)}. Got: {interval!r}")
    tz = ZoneInfo(timezone)
    parsed = _parse(posts, group_by, tz)
    cells: dict[str | None, dict[datetime, list[_Post]]] = defaultdict(lambda: defaultdict(list))
    for post in parsed:
        start = _bucket_start(post.at, interval)
        for group in post.groups:
            cells[group][start].append(post)
    if not parsed:
        return {}, tz
    first = min(_bucket_start(p.at, interval) for p in parsed)
    last = max(_bucket_start(p.at, interval) for p in parsed)
    out: dict[str | None, list[tuple[datetime, list[_Post]]]] = {}
    for group in sorted(cells, key=lambda g: (g is not None, g or "")):
        series = []
        start = first
        while start <= last:
            series.append((start, cells[group].get(start, [])))
            start = _advance(start, interval, tz)
        out[group] = series
    return out, tz


def summarize_trends(
    posts: Any,
    *,
    interval: Interval = "day",
    group_by: GroupBy = None,
    timezone: str = "Asia/Ho_Chi_Minh",
) -> TrendSummary:
    """Counts and shares per label per bucket, overall or per topic / district.

    A post with several topics counts once in each of its topics.

    Raises:
        SocialListeningError: unknown interval or group_by, a post without id / created_at / label.
    """
    grouped, _ = _grouped(posts, interval, group_by, timezone)
    buckets = []
    for group, series in grouped.items():
        for start, cell in series:
            counts = {label: 0 for label in _LABELS}
            for post in cell:
                counts[post.label] += 1
            total = len(cell)
            shares = {label: (counts[label] / total if total else 0.0) for label in _LABELS}
            buckets.append(BucketCounts(start, group, total, counts, shares))
    return TrendSummary(interval=interval, group_by=group_by, buckets=tuple(buckets))


def _median(values: Sequence[float]) -> float:
    s = sorted(values)
    n = len(s)
    return float(s[n // 2]) if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2.0


def detect_spikes(
    posts: Any,
    *,
    interval: Interval = "day",
    group_by: GroupBy = None,
    options: AlertOptions | None = None,
    timezone: str = "Asia/Ho_Chi_Minh",
) -> list[Alert]:
    """Buckets where negative talk jumps above its rolling robust baseline, oldest first.

    For each bucket with at least ``min_history`` previous buckets: baseline = median of the previous
    ``window`` values, scale = max(1.4826 x MAD, ``min_scale``), z = (value - baseline) / scale; the
    bucket alerts when z >= ``threshold`` and it holds at least ``min_negative`` negative posts.

    The alert's :attr:`Alert.topic` is the topic that rose most, and :attr:`Alert.post_ids` ranks the
    negative posts by contribution (that topic's most negative posts first), so the first three are the
    examples to show.

    Example: daily negative counts 3, 4, 2, 3, 5, 3, 4, then 25 -> one alert on the last day with
    baseline 3 and the 25 negative post ids attached.
    """
    options = options or AlertOptions()
    if options.metric not in ("count", "share"):
        raise SocialListeningError(f"metric: expected 'count' or 'share'. Got: {options.metric!r}")
    if options.window < 1 or options.min_history < 1:
        raise SocialListeningError(
            f"expected window >= 1 and min_history >= 1. Got: {options.window}, {options.min_history}"
        )
    min_scale = options.min_scale
    if options.metric == "share" and min_scale >= 1.0:
        min_scale = 0.05  # a count-sized floor would make share alerts impossible
    grouped, tz = _grouped(posts, interval, group_by, timezone)
    alerts: list[Alert] = []
    for group, series in grouped.items():
        values: list[float] = []
        for k, (start, cell) in enumerate(series):
            negatives = [p for p in cell if p.label == "negative"]
            total = len(cell)
            if options.metric == "count":
                value = float(len(negatives))
            else:
                value = len(negatives) / total if total else math.nan
            history = [v for v in values[-options.window :] if not math.isnan(v)]
            if len(history) >= options.min_history and not math.isnan(value):
                baseline = _median(history)
                mad = _median([abs(v - baseline) for v in history])
                scale = max(1.4826 * mad, min_scale)
                z = (value - baseline) / scale
                if z >= options.threshold and len(negatives) >= options.min_negative:
                    previous = [c for _, c in series[max(0, k - options.window) : k]]
                    topic, topic_negative, topic_baseline = _driving_topic(group, group_by, negatives, previous)
                    alerts.append(
                        Alert(
                            start=start,
                            end=_advance(start, interval, tz),
                            group=group,
                            metric=options.metric,
                            value=value,
                            baseline=baseline,
                            scale=scale,
                            z_score=z,
                            negative=len(negatives),
                            total=total,
                            post_ids=_ranked(negatives, topic)[: options.max_evidence],
                            topic=topic,
                            topic_negative=topic_negative,
                            topic_baseline=topic_baseline,
                        )
                    )
            values.append(value)
    alerts.sort(key=lambda a: (a.start, a.group or ""))
    return alerts


def _driving_topic(
    group: str | None, group_by: GroupBy, negatives: list[_Post], previous: list[list[_Post]]
) -> tuple[str | None, int, float]:
    """(topic, its negative posts now, its median negative posts over ``previous`` buckets).

    The topic with the largest excess (now minus baseline); ties go to the larger count now, then to the
    topic code (so the choice is deterministic). A post with several topics counts in each.
    """

    def negative_count(cell: list[_Post], topic: str) -> int:
        return sum(1 for p in cell if p.label == "negative" and topic in p.topics)

    if group_by == "topic" and group is not None:
        return group, len(negatives), _median([float(negative_count(c, group)) for c in previous] or [0.0])
    now: dict[str, int] = defaultdict(int)
    for post in negatives:
        for topic in post.topics:
            now[topic] += 1
    if not now:
        return None, 0, 0.0
    scored = []
    for topic, count in now.items():
        base = _median([float(negative_count(c, topic)) for c in previous] or [0.0])
        scored.append((count - base, count, topic, base))
    _, count, topic, base = min(scored, key=lambda t: (-t[0], -t[1], t[2]))
    return topic, count, base


def _ranked(negatives: list[_Post], topic: str | None) -> tuple[str, ...]:
    """Negative posts by contribution to the spike: the driving topic's first, most negative first, then
    oldest first."""
    order = sorted(negatives, key=lambda p: (topic not in p.topics, -p.negativity, p.at, p.id))
    return tuple(p.id for p in order)
