"""``POST /v1/events``: events in, durably stored and applied to the shoppers' live state."""

from fastapi import APIRouter

from shoprec.events import Event

from ..dependencies import WRITE, ServiceDep, StatsDep
from ..schemas import EventBatch, EventsAck, EventsBody
from ..stats import RecentEvent

router = APIRouter(prefix="/v1", tags=["events"])


@router.post("/events", dependencies=[WRITE])
def post_events(body: EventsBody, service: ServiceDep, stats: StatsDep) -> EventsAck:
    """Store one event or a batch durably and update the shoppers' state, then acknowledge.

    A batch is all or nothing: if one event is invalid, none is stored (422 names it).
    """
    events: list[Event] = body.events if isinstance(body, EventBatch) else [body]
    last_seq = service.ingest(events)
    stats.events(
        [
            RecentEvent(
                e.timestamp,
                e.user_id,
                e.item_id,
                e.event_type.value,
                service.catalog.title(e.item_id),
            )
            for e in events
        ]
    )
    return EventsAck(accepted=len(events), last_seq=last_seq)
