"""``POST /v1/events``: events in, durably stored and applied to the shoppers' live state."""

from fastapi import APIRouter

from shoprec.events import Event

from ..dependencies import ServiceDep, ShopperGateDep, StatsDep
from ..openapi import BODY, COMMON, GUARDED, errors
from ..schemas import EventBatch, EventsAck, EventsBody
from ..security import Access
from ..stats import RecentEvent

router = APIRouter(prefix="/v1", tags=["events"], responses=errors(*BODY, *GUARDED, *COMMON))


@router.post("/events")
def post_events(
    body: EventsBody, service: ServiceDep, stats: StatsDep, gate: ShopperGateDep
) -> EventsAck:
    """Store one event or a batch durably and update the shoppers' state, then acknowledge.

    A batch is all or nothing: if one event is invalid, none is stored (422 names it). An
    event whose ``event_id`` is already stored (a retry) is acknowledged but not stored again,
    and so are the events of a forgotten shopper: ``new`` counts what was stored now. Once
    any API key is configured this needs a write (or admin) key, or the token of the one
    shopper all the events are of (a shop page sending its own shopper's clicks).
    """
    events: list[Event] = body.events if isinstance(body, EventBatch) else [body]
    gate.require([e.user_id for e in events], Access.WRITE)
    appended = service.ingest(events)
    stats.events(
        [
            RecentEvent(
                e.timestamp,
                e.user_id,
                e.item_id,
                e.event_type.value,
                service.catalog.title(e.item_id),
            )
            for e in appended.events
        ]
    )
    return EventsAck(accepted=len(events), new=appended.new, last_seq=appended.last_seq)
