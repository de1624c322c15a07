"""``ioc worker`` SIGKILLed during a transcription, during its speaker labelling and during a training job.

Workers are real processes on the embedded stores (SQLite database and queue); the reaper of the next worker
re-enqueues the dead one's job once its heartbeat is stale. The job-system version of this (a counting job
killed and finished exactly once) is tests/api/test_jobs.py; the resume point of a transcription is
tests/api/test_transcriptions.py::test_a_new_attempt_resumes_after_the_last_stored_segment.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from api import jobs
from api.services import Services
from api.settings import Settings
from api.storage.tables import Job, Transcription, TranscriptSegment
from tests.conftest import make_settings, start_services
from tests.faults.conftest import Process, wait_for

pytestmark = pytest.mark.slow

CLIP = Path(__file__).parents[1] / "speech" / "data" / "hop_vi_2speakers.ogg"
CLIP_S = 18.62
#: A pipeline whose backtest over the demo indicators takes seconds, not a minute.
CHEAP = {"methods": ["theta", "naive", "drift"], "combination": "mean", "pools": {}}


@pytest.fixture(scope="module")
def whisper_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from speech.weights import ensure_default_model

    return ensure_default_model(tmp_path_factory.mktemp("models") / "whisper-base")


@pytest.fixture
def direct(tmp_path: Path) -> Iterator[Services]:
    services = start_services(make_settings(tmp_path / "var", jobs={"stale_after_s": 2.0}))
    yield services
    services.close()


def _worker(settings: Settings, tmp_path: Path, name: str, **env: str) -> Process:
    return Process(settings, tmp_path / f"{name}.log", "worker", "--threads", "1", env=env)


def _job(direct: Services, job_id: str) -> Job:
    return jobs.get_job(direct, job_id)


def _segments(direct: Services, tid: str) -> list[TranscriptSegment]:
    with direct.db.session() as s:
        where = TranscriptSegment.transcription_id == tid
        return list(s.scalars(select(TranscriptSegment).where(where).order_by(TranscriptSegment.idx)))


def test_transcription_killed_while_decoding_and_while_labelling_speakers(
    direct: Services, whisper_dir: Path, tmp_path: Path, processes: list[Process]
) -> None:
    tid = "f" * 32
    audio = direct.settings.uploads_dir / f"{tid}.ogg"
    audio.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(CLIP, audio)
    job_id = jobs.new_job_id()
    with direct.db.transaction() as s:
        s.add(
            Transcription(
                id=tid,
                owner="lan",
                title="họp",
                filename="hop.ogg",
                audio_path=str(audio),
                job_id=job_id,
                duration_s=CLIP_S,
                speakers=2,
            )
        )
    jobs.enqueue(direct, "transcribe", {"transcription_id": tid}, job_id=job_id)
    env = {"IOC_SPEECH__MODEL": str(whisper_dir), "IOC_SPEECH__CPU_THREADS": "1"}

    first = _worker(direct.settings, tmp_path, "w1", **env)
    processes.append(first)
    wait_for(lambda: _segments(direct, tid), 120, "the first worker to store a segment", every=0.05)
    first.sigkill()
    kept = [(s.start, s.end, s.text) for s in _segments(direct, tid)]
    assert _job(direct, job_id).status == "running"

    second = _worker(direct.settings, tmp_path, "w2", **env)
    processes.append(second)
    wait_for(
        lambda: _job(direct, job_id).attempts == 2 and "người nói" in (_job(direct, job_id).message or ""),
        150,
        "the second attempt to reach speaker labelling",
        every=0.05,
    )
    second.sigkill()
    decoded = [(s.start, s.end, s.text) for s in _segments(direct, tid)]
    assert decoded[: len(kept)] == kept  # the second attempt resumed after what the first stored
    assert _job(direct, job_id).status == "running"

    third = _worker(direct.settings, tmp_path, "w3", **env)
    processes.append(third)
    wait_for(lambda: _job(direct, job_id).status in jobs.TERMINAL, 120, "the third attempt to finish")
    done = _job(direct, job_id)
    assert done.status == "succeeded", (done.error, third.tail())
    assert done.attempts == 3
    final = _segments(direct, tid)
    assert [s.idx for s in final] == list(range(len(final)))
    assert all(0 <= s.start < s.end <= CLIP_S + 0.05 for s in final), [
        (s.start, s.end) for s in final
    ]  # nothing past the end
    assert all(b.start >= a.end - 0.05 for a, b in zip(final, final[1:], strict=False))  # no segment twice
    # Nothing invented: speaker labelling splits and labels segments, the words are those decoded before it.
    assert " ".join(s.text for s in final).split() == " ".join(t for _, _, t in decoded).split()
    assert len({s.speaker for s in final}) == 2
    assert third.popen.poll() is None  # the worker goes on serving


def test_training_killed_mid_way_registers_no_half_version(
    direct: Services, tmp_path: Path, processes: list[Process]
) -> None:
    from api.tasks.forecasting import load_demo_data, register_default_pipeline

    register_default_pipeline(direct)  # on an empty catalogue: no backtest, a quick champion
    load_demo_data(direct)
    registry = direct.registry
    before = sorted(v.version for v in registry.versions("forecasting"))
    assert registry.champion_version("forecasting") == "1"
    job = jobs.enqueue(direct, "train", {"model": "forecasting", "params": CHEAP}, owner="analyst")

    first = _worker(direct.settings, tmp_path, "t1")
    processes.append(first)
    wait_for(
        lambda: (_job(direct, job.id).message or "").startswith("backtest"), 120, "the backtest to start", every=0.05
    )
    first.sigkill()
    assert sorted(v.version for v in registry.versions("forecasting")) == before  # nothing from the dead one

    second = _worker(direct.settings, tmp_path, "t2")
    processes.append(second)
    wait_for(lambda: _job(direct, job.id).status in jobs.TERMINAL, 240, "the retried training to finish", every=0.2)
    done = _job(direct, job.id)
    assert done.status == "succeeded", (done.error, second.tail())
    assert done.attempts == 2
    versions = sorted(v.version for v in registry.versions("forecasting"))
    assert versions == sorted([*before, done.result["version"]])  # one new version, complete
    new = registry.version("forecasting", done.result["version"])
    assert new.metrics and new.description and new.data_fingerprint
    assert registry.champion_version("forecasting") == "1"  # training never promotes
    with direct.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Job).where(Job.kind == "train")) == 1
