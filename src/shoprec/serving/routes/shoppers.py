"""Shopper routes (admin key): a sample of stored shoppers, forgetting one, un-forgetting."""

from typing import Annotated

from fastapi import APIRouter, Query

from ..dependencies import ADMIN, ServiceDep, StatsDep, UserIdPath
from ..openapi import COMMON, GUARDED, errors
from ..schemas import Forgotten, Shoppers, Unforgotten

router = APIRouter(prefix="/v1", tags=["shoppers"], responses=errors(*GUARDED, *COMMON))


@router.get("/users", dependencies=[ADMIN])
def shoppers(
    service: ServiceDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="How many user ids.")] = 20,
) -> Shoppers:
    """Shoppers with stored events, the earliest first (a sample to try the API with).

    Shopper ids are personal data: admin only once any key is configured.
    """
    return Shoppers(users=service.users(limit))


@router.delete("/users/{user_id}", dependencies=[ADMIN])
def forget_user(user_id: UserIdPath, service: ServiceDep, stats: StatsDep) -> Forgotten:
    """Forget a shopper: events, live state, recent events on the dashboard, rejected rows.

    Their later events are acknowledged but not stored, until they are un-forgotten
    (``POST /v1/users/{user_id}/unforget`` or ``shoprec users unforget``).
    """
    erased = service.forget(user_id)
    stats.forget(service.pseudonyms.of(user_id))
    return Forgotten(
        user_id=user_id,
        events_deleted=erased.events_deleted,
        rejects_deleted=erased.rejects_deleted,
    )


@router.post("/users/{user_id}/unforget", dependencies=[ADMIN])
def unforget_user(user_id: UserIdPath, service: ServiceDep) -> Unforgotten:
    """Accept a forgotten shopper's events again (what they had stays deleted)."""
    return Unforgotten(user_id=user_id, was_forgotten=service.unforget(user_id))
