"""Typed dependencies: services, a database session, and the caller's role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.auth import ADMIN, ANALYST, SECRETARY, VIEWER, Principal
from api.authn import authenticate_request, presented_csrf
from api.errors import Forbidden
from api.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_session(services: ServicesDep) -> Iterator[Session]:
    with services.db.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def current_principal(
    request: Request, services: ServicesDep, csrf: Annotated[str | None, Depends(presented_csrf)]
) -> Principal:
    """A Bearer API key (machines) or a session cookie with its CSRF token on writes (people)."""
    who = authenticate_request(request, services, csrf)
    request.state.principal = who
    return who


def require(roles: frozenset[str]) -> Callable[..., Principal]:
    def check(who: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if who.role not in roles:
            raise Forbidden(
                f"role {who.role!r} may not do this; needs one of: {', '.join(sorted(roles))}",
                detail={"role": who.role, "allowed": sorted(roles)},
            )
        return who

    check.allowed_roles = roles  # type: ignore[attr-defined]  # read by the route-guard test
    return check


Viewer = Annotated[Principal, Depends(require(VIEWER))]
Secretary = Annotated[Principal, Depends(require(SECRETARY))]
Analyst = Annotated[Principal, Depends(require(ANALYST))]
Admin = Annotated[Principal, Depends(require(ADMIN))]
