"""``wpa serve``, ``wpa user add|list|passwd`` and ``wpa db upgrade|current``.

``register(app)`` hangs these on the main ``wpa`` typer app; ``python -m
assistant.service`` runs the same commands on their own (how the tests start
the service as a subprocess they can kill).
"""
from __future__ import annotations

import getpass
import logging
import os
import sys
from typing import Optional

import typer

from .settings import SettingsError, load_service_settings


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _settings():
    try:
        return load_service_settings()
    except SettingsError as exc:
        _fail(str(exc))


def serve(host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
          port: int = typer.Option(8000, "--port", help="port to listen on"),
          access_log: bool = typer.Option(False, "--access-log/--no-access-log",
                                          help="log each HTTP request (paths only, never bodies)")) -> None:
    """Start the LINE webhook, the staff console and the background worker."""
    settings = _settings()
    try:
        settings.require_line_secrets()
    except SettingsError as exc:
        _fail(str(exc))
    # The pipeline reads WPA_HOME itself; make a value that came from .env visible to it.
    os.environ["WPA_HOME"] = str(settings.home)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    import uvicorn

    from .app import create_app

    try:
        app = create_app(settings, worker="process")
    except SettingsError as exc:
        _fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - e.g. database unreachable: say so plainly
        _fail(f"cannot start: {type(exc).__name__}: {exc}")
    typer.echo(f"wpa service on http://{host}:{port}  (console: /console/, webhook: /line/webhook)", err=True)
    uvicorn.run(app, host=host, port=port, access_log=access_log, log_level="info",
                timeout_graceful_shutdown=10, timeout_keep_alive=30)


user_app = typer.Typer(help="Staff accounts for the console.", no_args_is_help=True)
db_app = typer.Typer(help="The service database (SQLite under WPA_HOME, or DATABASE_URL).", no_args_is_help=True)


def _session_factory():
    from .db import make_engine, make_sessionmaker, upgrade

    settings = _settings()
    upgrade(settings.database_url)
    return make_sessionmaker(make_engine(settings.database_url))


@user_app.command("add")
def user_add(username: str = typer.Argument(..., help="login name"),
             role: str = typer.Option("reviewer", "--role", help="reviewer | legal | admin"),
             display_name: str = typer.Option("", "--name", help="name shown in the console"),
             password: Optional[str] = typer.Option(None, "--password",
                                                    help="omit to be prompted (keeps it out of shell history)")) -> None:
    """Create a staff account (use --role admin for the first one)."""
    from .audit import record
    from .auth import AuthError, create_user
    from .db import transaction

    if password is None:
        if not sys.stdin.isatty():
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("密碼 (password): ")
            if getpass.getpass("再輸入一次 (again): ") != password:
                _fail("兩次輸入的密碼不同 (passwords differ)")
    factory = _session_factory()
    try:
        with transaction(factory) as s:
            user = create_user(s, username, password, role, display_name)
            record(s, None, "user_add", detail={"user_id": user.id, "username": user.username, "role": role,
                                                "via": "cli"})
    except AuthError as exc:
        _fail(str(exc))
    typer.echo(f"created {role} {username}")


@user_app.command("list")
def user_list() -> None:
    """List staff accounts."""
    from sqlalchemy import select

    from .models import User

    factory = _session_factory()
    with factory() as s:
        for u in s.scalars(select(User).order_by(User.username)):
            typer.echo(f"{u.username}\t{u.role}\t{'active' if u.active else 'disabled'}")


@user_app.command("passwd")
def user_passwd(username: str, password: Optional[str] = typer.Option(None, "--password")) -> None:
    """Set a new password (signs the user out everywhere)."""
    from sqlalchemy import select

    from .auth import AuthError, set_password
    from .db import transaction
    from .models import User

    if password is None:
        password = getpass.getpass("新密碼 (new password): ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    factory = _session_factory()
    try:
        with transaction(factory) as s:
            user = s.scalars(select(User).where(User.username == username)).first()
            if user is None:
                _fail(f"no such user: {username}")
            set_password(s, user, password)
    except AuthError as exc:
        _fail(str(exc))
    typer.echo(f"password changed for {username}")


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply migrations (serve does this on start too)."""
    from .db import upgrade

    settings = _settings()
    upgrade(settings.database_url, revision)
    typer.echo("database is at " + revision)


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision."""
    from .db import current_revision, make_engine

    settings = _settings()
    typer.echo(current_revision(make_engine(settings.database_url)) or "(empty)")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(user_app, name="user")
    app.add_typer(db_app, name="db")


def standalone() -> typer.Typer:
    app = typer.Typer(help="water-permit-assistant service", no_args_is_help=True, pretty_exceptions_enable=False)
    register(app)
    return app
