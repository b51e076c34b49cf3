"""``shoprec serve``: run the recommendation service (uvicorn with uvloop and httptools)."""

from __future__ import annotations

import gc
import ipaddress
import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import SecretStr

from shoprec.errors import ConfigError
from shoprec.settings import Settings

from .app import ConfigOption, app, console, settings_from


@app.command("serve")
def serve(
    host: Annotated[
        str | None, typer.Option("--host", help="Interface to listen on (default: settings).")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", min=1, max=65535, help="TCP port (default: settings).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="Server processes on this port (default: settings); more than 1 needs "
            "shared live state (state_url = redis://...).",
        ),
    ] = None,
    insecure: Annotated[
        bool,
        typer.Option(
            "--insecure",
            help="Allow serving beyond this machine with no API key (anyone may write and "
            "administer).",
        ),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Serve recommendations over HTTP from the home's event store and current model."""
    settings = settings_from(config)
    if workers is not None:
        settings = settings.model_copy(
            update={"serving": settings.serving.model_copy(update={"workers": workers})}
        )
    check_exposure(host or settings.serving.host, settings, insecure)
    run_server(settings, host, port)


def check_exposure(host: str, settings: Settings, insecure: bool) -> None:
    """Refuse to listen beyond loopback with no API key configured, unless ``insecure``.

    Raises:
        ConfigError: ``host`` is not a loopback address and no key is set.
    """
    serving = settings.serving
    keys = [*serving.read_keys, *serving.write_keys, *serving.admin_keys]
    if keys or insecure or _is_loopback(host):
        return
    raise ConfigError(
        f"refusing to serve on {host} with no API key: anyone could send events, read shoppers' "
        "data and administer the service. Set serving.admin_keys and serving.write_keys "
        "(docs/security.md), or pass --insecure"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to a public interface


def run_server(
    settings: Settings, host: str | None = None, port: int | None = None, pages: bool = False
) -> None:
    """Run the service until interrupted (uvicorn with uvloop and httptools).

    Args:
        settings: Effective settings (home folder and ``[serving]``).
        host: Interface to listen on (default: ``serving.host``).
        port: TCP port (default: ``serving.port``).
        pages: Print the demo shop's and the dashboard's URLs too.

    Raises:
        ConfigError: ``serving.workers`` > 1 without shared live state.
    """
    import uvicorn

    from shoprec.serving import SETTINGS_ENV, check_workers, server_app

    serving = settings.serving
    check_workers(settings)
    bind_host = host or serving.host
    bind_port = port or serving.port
    # 0.0.0.0 listens everywhere; a browser on this machine reaches it as 127.0.0.1.
    url = f"http://{'127.0.0.1' if bind_host == '0.0.0.0' else bind_host}:{bind_port}"
    options: dict[str, Any] = {
        "host": bind_host,
        "port": bind_port,
        "loop": "uvloop",
        "http": "httptools",
        "access_log": False,
        "log_level": "warning" if pages else "info",
    }
    if pages:
        console.print(
            f"\n[bold green]demo shop:[/bold green] {url}/shop   "
            f"[bold green]dashboard:[/bold green] {url}/dashboard   API docs: {url}/docs"
        )
        console.print("press Ctrl+C to stop", style="dim")
    else:
        console.print(
            f"shoprec serving on {url} with {serving.workers} worker(s) "
            "(docs at /docs, demo shop at /shop)"
        )
    if serving.workers > 1:
        # uvicorn starts each worker process itself and builds its app from an import
        # string: the settings travel as a file in the home, named by an environment variable.
        os.environ[SETTINGS_ENV] = str(_write_worker_settings(settings))
        uvicorn.run("shoprec.serving:worker_app", factory=True, workers=serving.workers, **options)
        return
    server = server_app(settings)
    try:
        uvicorn.run(server, **options)
    finally:
        server.state.unwatch_gc()
        gc.unfreeze()


def _write_worker_settings(settings: Settings) -> Path:
    """The settings as a JSON file only this user can read (it holds the API keys)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    path = (settings.home / "serve-settings.json").resolve()
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)

    def reveal(value: object) -> str:
        # model_dump(mode="json") would write the masked "**********" of each key.
        return value.get_secret_value() if isinstance(value, SecretStr) else str(value)

    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump(settings.model_dump(), file, default=reveal)
    return path
