"""A meeting's recording for the transcript editor's player, to exactly those who may read its transcript.

The same guard as ``GET /v1/transcriptions/{id}`` (any role, by session cookie or API key) and the same
visibility (:func:`api.stores.transcripts.visible`: the owner, an admin, or anyone when the owner shared the
meeting with viewers; 404 for anyone else).
Starlette's ``FileResponse`` answers ``Range`` requests, so the player can seek.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path as FsPath
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import FileResponse

from api.deps import SessionDep, Viewer
from api.errors import NotFound
from api.stores import transcripts

router = APIRouter(include_in_schema=False)

#: Containers Whisper's uploads come in whose type Python's table may not know.
AUDIO_TYPES = {".ogg": "audio/ogg", ".opus": "audio/ogg", ".m4a": "audio/mp4", ".webm": "audio/webm"}


@router.get("/cuoc-hop/{meeting_id}/am-thanh")
def meeting_audio(
    meeting_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")], session: SessionDep, who: Viewer
) -> FileResponse:
    """The uploaded recording as it came (no transcoding); 404 if it is not visible or no longer kept."""
    row = transcripts.visible(session, who, meeting_id)
    path = FsPath(row.audio_path) if row.audio_path else None
    if path is None or not path.is_file():
        raise NotFound(f"the recording of transcription {meeting_id!r} is no longer kept")
    suffix = path.suffix.lower()
    media_type = AUDIO_TYPES.get(suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "private, no-store"})
