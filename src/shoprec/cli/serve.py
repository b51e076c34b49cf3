"""``shoprec serve``: run the recommendation service (uvicorn with uvloop and httptools)."""

from __future__ import annotations

from typing import Annotated

import typer

from shoprec.errors import ConfigError

from .app import ConfigOption, app, console, settings_from


@app.command("serve")
def serve(
    host: Annotated[
        str | None, typer.Option("--host", help="Interface to listen on (default: settings).")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", min=1, max=65535, help="TCP port (default: settings).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Serve recommendations over HTTP from the home's event store and current model."""
    import uvicorn

    from shoprec.serving import create_app

    settings = settings_from(config)
    serving = settings.serving
    if serving.workers != 1:
        # Live shopper state is per process: a second worker would not see the first one's
        # events, breaking read-your-writes.
        raise ConfigError(
            f"serving.workers={serving.workers}: only 1 is supported (live state is per process)"
        )
    bind_host = host or serving.host
    bind_port = port or serving.port
    console.print(f"shoprec serving on http://{bind_host}:{bind_port} (docs at /docs)")
    uvicorn.run(
        create_app(settings),
        host=bind_host,
        port=bind_port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="info",
    )
