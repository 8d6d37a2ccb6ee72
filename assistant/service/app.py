"""The app factory: webhook + console + worker in one FastAPI application.

``create_app(settings, make_draft=None)`` is what ``wpa serve`` runs and what
tests start under real uvicorn servers. ``make_draft`` defaults to the
retrieval pipeline (``assistant.pipeline.Assistant``), loaded by the worker,
so a web request never does retrieval work.
"""
from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from urllib.parse import urlencode

from assistant.citations import Draft

from .console import ConsoleError, LoginRequired, console_router
from .context import ServiceContext, get_context
from .db import make_engine, make_sessionmaker, upgrade
from .drafting import LazyAssistant
from .line_gateway import LineGateway
from .settings import ServiceSettings
from .webhook import EventWriter, webhook_router
from .worker import Worker
from .worker_process import WorkerProcess

log = logging.getLogger("wpa.service")

PACKAGE_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
MAX_FORM_BYTES = 2 * 1024 * 1024

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
     b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
]


class GuardMiddleware:
    """Security headers on every response; refuse oversized console bodies before parsing."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        if scope.get("method") == "POST" and not path.startswith("/line/"):
            for name, value in scope.get("headers", []):
                if name == b"content-length" and value.isdigit() and int(value) > MAX_FORM_BYTES:
                    response = HTMLResponse("<h1>413</h1><p>送出的資料過大。</p>", status_code=413)
                    return await response(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k for k, _ in headers}
                headers.extend((k, v) for k, v in SECURITY_HEADERS if k not in present)
                if path.startswith("/console"):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        return await self.app(scope, receive, send_with_headers)


async def _supervise(worker: WorkerProcess) -> None:
    while True:
        await asyncio.sleep(2.0)
        worker.ensure_running()


def _is_console(request: Request) -> bool:
    return request.url.path.startswith("/console")


def _error_page(request: Request, status: int, message: str, back: str = "/console/") -> Response:
    ctx = get_context(request)
    return ctx.templates.TemplateResponse(request, "error.html", {
        "status": status, "message": message, "back": back, "staff": None, "notice": "",
    }, status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        params = {"next": exc.next_url}
        if exc.expired:
            params["expired"] = "1"
        return RedirectResponse("/console/login?" + urlencode(params), status_code=303)

    @app.exception_handler(ConsoleError)
    async def console_error(request: Request, exc: ConsoleError) -> Response:
        return _error_page(request, exc.status, exc.message, exc.back)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        messages = {404: "找不到這個頁面。", 405: "不支援這個操作方式。"}
        if _is_console(request):
            return _error_page(request, exc.status_code, messages.get(exc.status_code, str(exc.detail)))
        return JSONResponse({"message": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        fields = ", ".join(".".join(str(p) for p in e.get("loc", ())[1:]) or "?" for e in exc.errors())
        if _is_console(request):
            return _error_page(request, 400, f"表單或網址參數格式不正確（{fields}），請重新載入頁面後再試。")
        return JSONResponse({"message": f"invalid request: {fields}"}, status_code=400)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.error("unhandled %s on %s", type(exc).__name__, request.url.path)
        if _is_console(request):
            return _error_page(request, 500, "系統發生未預期的錯誤，請稍後再試或通知系統管理員。")
        return JSONResponse({"message": "internal error"}, status_code=500)


def create_app(settings: ServiceSettings, make_draft: Callable[[str], Draft] | None = None, *,
               worker: str = "thread", migrate: bool = True) -> FastAPI:
    """Build the service; raises SettingsError if LINE credentials are missing.

    ``worker``: "process" (what ``wpa serve`` uses: a lower-priority child process
    drafting with assistant.pipeline), "thread" (lanes inside this process, with
    ``make_draft`` if given — how tests inject a drafting function) or "off".
    """
    settings.require_line_secrets()
    if worker not in ("process", "thread", "off"):
        raise ValueError(f"worker must be process, thread or off, not {worker!r}")
    if worker == "process" and make_draft is not None:
        raise ValueError("an injected make_draft runs only with worker='thread'")
    if migrate:
        upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    ctx = ServiceContext(settings=settings, engine=engine, session_factory=factory, templates=templates,
                         event_writer=EventWriter(factory))
    gateway: LineGateway | None = None
    if worker == "thread":
        gateway = LineGateway(settings)
        if make_draft is None:
            lazy = LazyAssistant()
            ctx.worker = Worker(settings, factory, gateway, lazy, warm_up=lazy.load)
        else:
            ctx.worker = Worker(settings, factory, gateway, make_draft)
    elif worker == "process":
        ctx.worker = WorkerProcess(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        supervisor = None
        ctx.event_writer.start()
        if ctx.worker is not None:
            ctx.worker.start()
        if isinstance(ctx.worker, WorkerProcess):
            supervisor = asyncio.create_task(_supervise(ctx.worker))
        try:
            yield
        finally:
            if supervisor is not None:
                supervisor.cancel()
            await ctx.event_writer.stop()
            if ctx.worker is not None:
                await asyncio.to_thread(ctx.worker.stop)
            if gateway is not None:
                gateway.close()
            engine.dispose()

    app = FastAPI(title="水污染防治許可諮詢服務", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.ctx = ctx
    app.add_middleware(GuardMiddleware)
    _install_error_handlers(app)
    app.include_router(webhook_router(get_context))
    app.include_router(console_router())
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")

    @app.get("/", include_in_schema=False)
    def root() -> Response:
        return RedirectResponse("/console/", status_code=303)

    @app.get("/console", include_in_schema=False)
    def console_root() -> Response:
        return RedirectResponse("/console/", status_code=303)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        from sqlalchemy import text

        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        info: dict = {"ok": True, "worker": worker}
        if isinstance(ctx.worker, WorkerProcess):
            info.update(worker_pid=ctx.worker.pid, worker_alive=ctx.worker.alive(),
                        worker_restarts=ctx.worker.restarts)
        return info

    return app
