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


def _fire_day() -> tuple[list[dict[str, object]], set[str]]:
    """14 ordinary days (a traffic notice and two complaints about procedures, all negative), then a day
    with the same three posts first thing in the morning, very negative, and 38 posts about a market fire
    and a forest fire through the day."""
    posts: list[dict[str, object]] = []
    for day in range(15):
        at = datetime(2025, 3, 1, 6, 0) + timedelta(days=day)
        posts += [
            {"id": f"d{day}-traffic", "created_at": at, "label": "negative", "score_negative": 0.99,
             "topics": ["traffic"], "text": "Thông báo cấm đường Trần Phú"},
            {"id": f"d{day}-proc1", "created_at": at, "label": "negative", "score_negative": 0.98,
             "topics": ["public_services"], "text": "Làm hồ sơ mãi không xong"},
            {"id": f"d{day}-proc2", "created_at": at, "label": "negative", "score_negative": 0.97,
             "topics": ["public_services", "corruption_conduct"], "text": "Cán bộ gây khó dễ"},
            {"id": f"d{day}-praise", "created_at": at, "label": "positive", "score_negative": 0.02,
             "topics": ["tourism"], "text": "Đà Lạt đẹp quá"},
        ]  # fmt: skip
    spike = datetime(2025, 3, 15, 9, 0)
    fire: set[str] = set()
    for i in range(38):
        pid = f"fire-{i}"
        fire.add(pid)
        topics = ["fire_accident", "prices"] if i % 2 else ["fire_accident", "environment"]
        score = 0.55 + 0.01 * i  # fire-37 is the most negative (0.92)
        posts.append(
            {"id": pid, "created_at": spike + timedelta(minutes=10 * i), "label": "negative",
             "score_negative": score, "topics": topics}
        )  # fmt: skip
    return posts, fire


def test_alert_names_the_driving_topic_and_its_most_negative_posts_first() -> None:
    posts, fire = _fire_day()
    (alert,) = detect_spikes(posts)
    assert alert.start.day == 15 and alert.negative == 41
    assert alert.topic == "fire_accident"
    assert alert.topic_negative == 38 and alert.topic_baseline == 0.0
    # The three examples: the most negative fire posts, not the earlier, more negative unrelated posts.
    assert list(alert.post_ids[:3]) == ["fire-37", "fire-36", "fire-35"]
    assert set(alert.post_ids[:38]) == fire
    assert alert.post_ids[38:] == ("d14-traffic", "d14-proc1", "d14-proc2")


def test_district_alert_also_names_its_topic() -> None:
    posts, _ = _fire_day()
    for p in posts:
        p["district"] = "Đà Lạt"
    (alert,) = detect_spikes(posts, group_by="district")
    assert (alert.group, alert.topic) == ("Đà Lạt", "fire_accident")


def test_topic_alert_examples_rank_by_negativity() -> None:
    posts, _ = _fire_day()
    alerts = detect_spikes(posts, group_by="topic")
    fire = [a for a in alerts if a.group == "fire_accident"]
    assert len(fire) == 1 and fire[0].topic == "fire_accident"
    assert fire[0].post_ids[0] == "fire-37"
    assert {a.group for a in alerts} <= {"fire_accident", "prices", "environment"}


def test_human_label_replaces_the_model_label() -> None:
    at = BASE
    posts = [
        {"id": "a", "created_at": at, "label": "neutral", "human_label": "negative", "score_negative": 0.1},
        {"id": "b", "created_at": at, "label": "negative", "human_label": "neutral", "score_negative": 0.9},
        {"id": "c", "created_at": at, "label": "negative", "human_label": None, "score_negative": 0.8},
        {"id": "d", "created_at": at, "label": "positive", "human_label": ""},
    ]
    (bucket,) = summarize_trends(posts).buckets
    assert bucket.counts == {"negative": 2, "neutral": 1, "positive": 1}
    # In a spike, an analyst's negative ranks first (certain), then the model's by score.
    history = [
        {"id": f"h{d}", "created_at": at - timedelta(days=d), "label": "negative", "topics": ["traffic"]}
        for d in range(1, 8)
    ]
    spike = [
        {"id": f"s{i}", "created_at": at, "label": "negative", "score_negative": 0.5 + i / 100, "topics": ["health"]}
        for i in range(10)
    ]
    spike.append(
        {"id": "human", "created_at": at, "label": "neutral", "human_label": "negative", "score_negative": 0.05,
         "topics": ["health"]}
    )  # fmt: skip
    spike.append(
        {"id": "overruled", "created_at": at, "label": "negative", "human_label": "positive",
         "score_negative": 0.99, "topics": ["health"]}
    )  # fmt: skip
    (alert,) = detect_spikes(history + spike)
    assert alert.negative == 11 and alert.topic == "health"
    assert alert.post_ids[:2] == ("human", "s9")
    assert "overruled" not in alert.post_ids


@pytest.mark.parametrize(
    "post",
    [
        {"id": "a", "created_at": BASE, "label": "neutral", "human_label": "angry"},
        {"id": "a", "created_at": BASE, "label": "negative", "score_negative": 1.5},
        {"id": "a", "created_at": BASE, "label": "negative", "score_negative": "high"},
    ],
)
def test_bad_human_label_or_score(post: dict[str, object]) -> None:
    with pytest.raises(SocialListeningError, match=r"posts\[0\]\.(human_label|score_negative)"):
        summarize_trends([post])
