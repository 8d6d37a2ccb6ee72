"""What every request handler needs, hung on ``app.state.ctx`` by the app factory."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from .settings import ServiceSettings

if TYPE_CHECKING:
    from .worker import Worker
    from .webhook import EventWriter
    from .worker_process import WorkerProcess


@dataclass
class ServiceContext:
    settings: ServiceSettings
    engine: Engine
    session_factory: sessionmaker[Session]
    templates: Jinja2Templates
    worker: "Worker | WorkerProcess | None" = None
    event_writer: "EventWriter | None" = None

    def wake_worker(self, *lanes: str) -> None:
        if self.worker is not None:
            self.worker.wake(*(lanes or ("intake",)))


def get_context(request: Request) -> ServiceContext:
    return request.app.state.ctx
