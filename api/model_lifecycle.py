"""Model use cases shared by the API and the CLI: promotion (load first, then alias, then serve, audited), and
which version a rollback restores."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api import audit
from api.auth import Principal
from api.errors import InvalidInput, NotFound
from api.services import Services
from api.storage.tables import AuditEntry
from models import MODEL_NAMES


def promote_version(services: Services, who: Principal, name: str, version: str) -> str | None:
    """Make ``version`` of ``name`` the ``champion``: it is loaded once first (a version that fails to load is
    refused and the champion is unchanged), then aliased, installed in this process's champion cache (other
    processes follow within ``IOC_MODELS__REFRESH_INTERVAL_S``) and audited. Returns the previous champion.

    Raises:
        NotFound: unknown model name or version.
        InvalidInput: the version does not load (code ``model_load_failed``).
    """
    if name not in MODEL_NAMES:
        raise NotFound(f"unknown model {name!r}, expected one of: {', '.join(MODEL_NAMES)}")
    try:
        services.registry.version(name, version)
    except KeyError as e:
        raise NotFound(str(e.args[0])) from e
    try:
        served = services.champions.load_version(name, version)
    except Exception as e:  # noqa: BLE001  (any load failure refuses the promotion; the champion stays)
        raise InvalidInput(
            f"version {version} of {name!r} failed to load; the champion is unchanged",
            code="model_load_failed",
            detail=f"{type(e).__name__}: {e}",
        ) from e
    previous = services.registry.champion_version(name)
    services.registry.set_champion(name, version)
    services.champions.install(served)
    with services.db.transaction() as s:
        audit.record(s, who, "model.promote", "model", f"{name}/{version}", {"previous": previous})
    return previous


def previous_champion(session: Session, name: str, current: str | None) -> str | None:
    """The version that was ``champion`` of ``name`` before ``current`` became it: what a rollback restores.

    Read from the audit log (each ``model.promote`` records the champion it replaced); None when ``current``
    was never promoted (a default registered at first start) or replaced nothing.
    """
    if current is None:
        return None
    entry = session.scalar(
        select(AuditEntry)
        .where(AuditEntry.action == "model.promote", AuditEntry.object_id == f"{name}/{current}")
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    previous = (entry.detail or {}).get("previous") if entry is not None else None
    return str(previous) if previous is not None and str(previous) != current else None
