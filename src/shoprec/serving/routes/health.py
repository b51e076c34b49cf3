"""Health and metrics, outside ``/v1``: liveness, readiness and Prometheus."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shoprec.errors import ShoprecError

from ..dependencies import ServiceDep

router = APIRouter(tags=["health"])


@router.get("/health/live")
def live() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/health/ready")
def ready(service: ServiceDep) -> JSONResponse:
    """A model is loaded and the store answers (503 otherwise)."""
    try:
        version = service.check_ready()
    except ShoprecError as exc:
        return JSONResponse({"status": "not ready", "detail": str(exc)}, status_code=503)
    return JSONResponse({"status": "ready", "model_version": version})


@router.get("/metrics")
def metrics(service: ServiceDep) -> Response:
    """Prometheus metrics."""
    return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)
