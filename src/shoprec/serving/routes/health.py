"""Health and metrics, outside ``/v1``: liveness, readiness and Prometheus (open to anyone)."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from shoprec.errors import ShoprecError

from ..dependencies import ServiceDep

router = APIRouter(tags=["health"])


class Readiness(BaseModel):
    """Whether this replica should get traffic."""

    status: str
    """``ready`` or ``not ready``."""
    model_version: str | None = None
    """The model version serving (when ready)."""
    detail: str | None = None
    """Why not (when not ready)."""


@router.get("/health/live")
def live() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get(
    "/health/ready",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready, and why."}},
)
def ready(service: ServiceDep) -> JSONResponse:
    """A model is loaded and the stores answer (503 otherwise: a load balancer skips it)."""
    try:
        version = service.check_ready()
    except ShoprecError as exc:
        return JSONResponse({"status": "not ready", "detail": str(exc)}, status_code=503)
    return JSONResponse({"status": "ready", "model_version": version})


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {}}, "description": "ok"}},
)
def metrics(service: ServiceDep) -> Response:
    """Prometheus metrics (text exposition format)."""
    return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)
