from __future__ import annotations

from fastapi import APIRouter

from api import jobs
from api.deps import ServicesDep, Viewer
from api.schemas import JobOut

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@router.get("/{job_id}", response_model=JobOut)
def get_job(job_id: str, services: ServicesDep, _: Viewer) -> JobOut:
    """Status, progress (0..1), result or error of a background job."""
    return JobOut.model_validate(jobs.get_job(services, job_id))
