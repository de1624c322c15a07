"""A meeting's transcript with speakers: the step that the service's job and ``ioc transcribe`` share."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from speech.transcript import Segment

logger = logging.getLogger(__name__)


def label_speakers(
    audio: str | Path,
    segments: Sequence[Segment],
    n_speakers: int | None = None,
    progress: Callable[[float], None] | None = None,
) -> tuple[list[Segment], str | None]:
    """Label ``segments`` with speakers, splitting a segment where its words change speaker.

    Speakers are a bonus over the transcript: when diarization fails for any reason the transcript is kept
    without speakers and the second item says why (``None`` when it worked). ``progress`` gets 0..1.
    """
    from speech.diarize import Diarizer

    try:
        return list(Diarizer(n_speakers=n_speakers).diarize(audio, list(segments), progress=progress)), None
    except Exception as e:  # noqa: BLE001  (any failure of the optional step keeps the transcript)
        logger.exception("speaker labelling of %s failed; keeping the transcript without speakers", audio)
        return list(segments), f"speaker labels unavailable: {e}"
