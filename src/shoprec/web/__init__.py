"""Web: the demo shop page and the operator dashboard, as static files served by shoprec itself.

Owns plain HTML, CSS and JavaScript (no build step, nothing fetched from the internet: the
small canvas chart library ``charts.js`` ships here too) and :func:`mount_pages`, which adds
them to an app. The pages talk to the service only through the public ``/v1`` API. Imports
nothing of shoprec; ``serving`` mounts it.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

#: Folder of the page files (installed as package data).
STATIC_DIR = Path(__file__).resolve().parent / "static"

#: Page routes and the file each serves.
PAGES = {"/shop": "shop.html", "/dashboard": "dashboard.html"}


def mount_pages(app: FastAPI) -> None:
    """Serve the shop at ``/shop`` (``/`` redirects there), the dashboard and their files.

    Args:
        app: The service's app; the pages call its ``/v1`` routes from the browser.
    """
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    def page(name: str) -> FileResponse:
        # no-cache: a browser revalidates, so a new release's page is picked up at once.
        return FileResponse(STATIC_DIR / name, headers={"Cache-Control": "no-cache"})

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/shop")

    @app.get("/shop", include_in_schema=False)
    def shop() -> FileResponse:
        return page(PAGES["/shop"])

    @app.get("/dashboard", include_in_schema=False)
    def dashboard() -> FileResponse:
        return page(PAGES["/dashboard"])


__all__ = ["PAGES", "STATIC_DIR", "mount_pages"]
