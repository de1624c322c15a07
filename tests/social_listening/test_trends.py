"""Trend counts and robust spike alerts on synthetic posts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from social_listening import AlertOptions, SocialListeningError, detect_spikes, summarize_trends

BASE = datetime(2025, 3, 1, 9, 0)


def _posts(negatives_per_day: list[int], neutral_per_day: int = 4) -> list[dict[str, object]]:
    posts: list[dict[str, object]] = []
    for day, n_neg in enumerate(negatives_per_day):
        at = BASE + timedelta(days=day)
        for i in range(n_neg):
            posts.append(
                {
                    "id": f"d{day}-n{i}",
                    "created_at": at,
                    "label": "negative",
                    "topics": ["traffic"],
                    "district": "Đà Lạt",
                }
            )
        for i in range(neutral_per_day):
            posts.append(
                {
                    "id": f"d{day}-u{i}",
                    "created_at": at.isoformat(),
                    "label": "neutral",
                    "topics": ["tourism", "traffic"],
                    "district": "Bảo Lộc",
                }
            )
    return posts


def test_daily_counts_and_shares_fill_empty_days() -> None:
    posts = _posts([2, 0, 3])
    posts = [p for p in posts if not str(p["id"]).startswith("d1-")]  # day 1 has no posts at all
    summary = summarize_trends(posts, interval="day")
    assert [b.start.day for b in summary.buckets] == [1, 2, 3]
    first, empty, last = summary.buckets
    assert first.counts == {"negative": 2, "neutral": 4, "positive": 0}
    assert first.shares["negative"] == pytest.approx(2 / 6)
    assert empty.total == 0 and empty.shares["negative"] == 0.0
    assert last.counts["negative"] == 3


def test_group_by_topic_counts_multi_topic_posts_in_each() -> None:
    summary = summarize_trends(_posts([1]), group_by="topic")
    by_group = {b.group: b for b in summary.buckets}
    assert by_group["traffic"].total == 5
    assert by_group["tourism"].total == 4


def test_group_by_district_and_week_buckets() -> None:
    summary = summarize_trends(_posts([1] * 10), interval="week", group_by="district")
    starts = sorted({b.start for b in summary.buckets})
    assert all(s.weekday() == 0 for s in starts)  # Monday
    assert {b.group for b in summary.buckets} == {"Bảo Lộc", "Đà Lạt"}
    assert sum(b.total for b in summary.buckets if b.group == "Đà Lạt") == 10


def test_aware_timestamps_are_bucketed_in_local_time() -> None:
    # 18:30 UTC on 1 March is 01:30 on 2 March in Vietnam (UTC+7).
    post = {"id": "x", "created_at": datetime(2025, 3, 1, 18, 30, tzinfo=UTC), "label": "positive"}
    (bucket,) = summarize_trends([post]).buckets
    assert bucket.start.day == 2


def test_spike_alert_with_evidence() -> None:
    history = [3, 4, 2, 3, 5, 3, 4, 3, 2, 4]
    alerts = detect_spikes(_posts([*history, 25]))
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.start.day == 11
    assert alert.baseline == 3.0
    assert alert.negative == 25
    assert len(alert.post_ids) == 25 and all(pid.startswith("d10-n") for pid in alert.post_ids)
    assert alert.z_score >= 3.5


def test_no_alert_without_a_spike_or_history() -> None:
    assert detect_spikes(_posts([3, 4, 2, 3, 5, 3, 4, 3, 2, 4, 5])) == []
    assert detect_spikes(_posts([1, 30])) == []  # too little history


def test_share_metric_and_topic_groups() -> None:
    alerts = detect_spikes(
        _posts([1] * 8 + [12]), group_by="topic", options=AlertOptions(metric="share", min_history=5)
    )
    assert [a.group for a in alerts] == ["traffic"]
    assert alerts[0].metric == "share"


def test_dataframe_input() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(_posts([1, 2]))
    frame["created_at"] = pd.to_datetime(frame["created_at"].astype(str), format="ISO8601")
    assert sum(b.total for b in summarize_trends(frame).buckets) == 11


@pytest.mark.parametrize(
    ("posts", "kwargs"),
    [
        ([{"id": "a", "created_at": BASE}], {}),
        ([{"id": "a", "created_at": BASE, "label": "angry"}], {}),
        ([{"id": "a", "created_at": "yesterday", "label": "negative"}], {}),
        ([], {"interval": "month"}),
        ([], {"group_by": "source"}),
    ],
)
def test_bad_input(posts: list[dict[str, object]], kwargs: dict[str, object]) -> None:
    with pytest.raises(SocialListeningError):
        summarize_trends(posts, **kwargs)  # type: ignore[arg-type]
