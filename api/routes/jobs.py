from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api import jobs
from api.deps import ServicesDep, Viewer
from api.schemas import JobOut

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@router.get("/{job_id}", response_model=JobOut)
def get_job(
    job_id: Annotated[str, Path(max_length=32, description="the job's id")], services: ServicesDep, who: Viewer
) -> JobOut:
    """Status, progress (0..1), result or error of a background job you started (admins: any job); others'
    jobs answer 404."""
    return JobOut.model_validate(jobs.get_job(services, job_id, who))
