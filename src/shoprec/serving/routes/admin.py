"""Admin routes (admin key): model reload and retraining, A/B counts, the dashboard's data."""

from fastapi import APIRouter

from ..dependencies import ADMIN, ServiceDep, StatsDep
from ..openapi import COMMON, GUARDED, errors
from ..schemas import AdminStats, Experiments, ModelInfo, Reloaded, RetrainStarted, VariantStats
from ..service import Service

router = APIRouter(
    prefix="/v1/admin",
    tags=["admin"],
    dependencies=[ADMIN],
    responses=errors(*GUARDED, 409, *COMMON),
)


@router.post("/reload")
def reload(service: ServiceDep, force: bool = False) -> Reloaded:
    """Load the version ``CURRENT`` points at and swap it in without failing a request."""
    version, changed = service.reload(force=force)
    return Reloaded(model_version=version, changed=changed)


@router.post("/retrain", status_code=202)
def retrain(service: ServiceDep) -> RetrainStarted:
    """Train the next model version from the event log in the background (409 if running).

    The new version is swapped in once it is published; ``/health/ready`` and ``/metrics``
    show the model version serving.
    """
    return RetrainStarted(pid=service.start_retrain())


@router.get("/experiments")
def experiments(service: ServiceDep) -> Experiments:
    """Impressions, clicks, CTR and conversions per A/B variant."""
    return Experiments(variants=_variants(service))


@router.get("/stats")
def admin_stats(service: ServiceDep, stats: StatsDep) -> AdminStats:
    """What the operator dashboard shows: traffic, latency, events, model, A/B, coverage."""
    record = service.model_record()
    model = (
        ModelInfo(version=None)
        if record is None
        else ModelInfo.model_validate({"version": record[0], "record": record[1]})
    )
    return AdminStats.model_validate(
        {
            "model": model,
            "variants": _variants(service),
            "live_users": service.state.size(),
            "traffic": stats.snapshot(len(service.catalog)),
        }
    )


def _variants(service: Service) -> list[VariantStats]:
    return [
        VariantStats(
            name=name,
            weight=weight,
            impressions=shown,
            clicks=clicks,
            conversions=conversions,
            ctr=clicks / shown if shown else 0.0,
            conversion_rate=conversions / shown if shown else 0.0,
        )
        for name, weight, shown, clicks, conversions in service.experiment_counts()
    ]
