"""Serve the champion of each model and follow the alias without a restart.

:meth:`ChampionCache.get` checks the registry's ``champion`` alias at most every ``refresh_interval_s``;
when it moved, the new version is loaded in the caller's thread (others keep the current one). A
version that fails to load leaves the previous one serving, and the failure is reported by
:meth:`ChampionCache.status` (``/health`` and ``/v1/models`` show it).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from models.registry import ModelRegistry

logger = logging.getLogger(__name__)


class ModelUnavailable(RuntimeError):
    """No version of the model could be served."""


@dataclass(frozen=True)
class ServedModel:
    name: str
    version: str
    model: Any
    loaded_at: datetime


@dataclass
class _Slot:
    served: ServedModel | None = None
    checked_at: float = float("-inf")
    failed_version: str | None = None
    error: str | None = None


class ChampionCache:
    def __init__(self, registry: ModelRegistry, refresh_interval_s: float = 5.0) -> None:
        self.registry = registry
        self.refresh_interval_s = refresh_interval_s
        self._slots: dict[str, _Slot] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())

    def get(self, name: str) -> ServedModel:
        """The champion of ``name``; raises :class:`ModelUnavailable` when none can be served."""
        slot = self._slots.get(name)
        if (
            slot is not None
            and slot.served is not None
            and time.monotonic() - slot.checked_at < self.refresh_interval_s
        ):
            return slot.served
        with self._lock(name):
            slot = self._slots.setdefault(name, _Slot())
            if slot.served is None or time.monotonic() - slot.checked_at >= self.refresh_interval_s:
                self._refresh(name, slot)
            if slot.served is None:
                raise ModelUnavailable(
                    f"no servable version of model {name!r}"
                    + (
                        f": version {slot.failed_version} failed to load: {slot.error}"
                        if slot.error
                        else " (no champion alias set)"
                    )
                )
            return slot.served

    def _refresh(self, name: str, slot: _Slot) -> None:
        slot.checked_at = time.monotonic()
        try:
            version = self.registry.champion_version(name)
        except Exception as e:  # registry unreachable: keep serving what we have
            logger.warning("could not read the champion of %s: %s", name, e)
            return
        if version is None or (slot.served is not None and slot.served.version == version):
            return
        if version == slot.failed_version:
            return  # already tried and failed; keep the previous one until the alias moves again
        try:
            served = self.load_version(name, version)
        except Exception as e:
            slot.failed_version, slot.error = version, f"{type(e).__name__}: {e}"
            logger.error(
                "model %s version %s failed to load; still serving %s: %s",
                name,
                version,
                slot.served.version if slot.served else "nothing",
                e,
            )
            return
        logger.info("now serving %s version %s", name, version)
        slot.served, slot.failed_version, slot.error = served, None, None

    def load_version(self, name: str, version: str) -> ServedModel:
        model = self.registry.load(name, version)
        return ServedModel(name=name, version=str(version), model=model, loaded_at=datetime.now(UTC))

    def install(self, served: ServedModel) -> None:
        """Serve an already loaded version now (after a promotion validated it)."""
        with self._lock(served.name):
            slot = self._slots.setdefault(served.name, _Slot())
            slot.served, slot.failed_version, slot.error = served, None, None
            slot.checked_at = time.monotonic()

    def status(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for name, slot in sorted(self._slots.items()):
            out[name] = {
                "version": slot.served.version if slot.served else None,
                "loaded_at": slot.served.loaded_at.isoformat() if slot.served else None,
                "failed_version": slot.failed_version,
                "error": slot.error,
            }
        return out
