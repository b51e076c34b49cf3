"""The service facade over injected backends: the live side, the model engine, their seams."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoprec.events import Event, Item, MemoryCatalog, MemoryEventStore, MemoryStateStore
from shoprec.retrieval import Trending
from shoprec.serving import Backends, Experiment, NotFoundError, NotReadyError, Service
from shoprec.settings import ServingSettings, Settings
from shoprec.types import EventType


def _memory_backends() -> Backends:
    events = MemoryEventStore()
    return Backends(
        events=events,
        catalogue=MemoryCatalog(),
        state=MemoryStateStore(events),
        trending=Trending(24.0, {"view": 1.0}),
        experiment=Experiment([("default", 1.0)]),
    )


@pytest.fixture
def service(tmp_path: Path) -> Service:
    settings = Settings(home=tmp_path, serving=ServingSettings(reload_interval_s=0))
    return Service(settings, backends=_memory_backends())


def test_the_live_side_runs_on_the_injected_backends(service: Service) -> None:
    backends = service.live.backends
    event = Event(user_id="u", item_id="a", event_type=EventType.VIEW)
    assert service.ingest([event]).last_seq == backends.events.last_seq() == 1
    assert [h.item_id for h in service.shopper("u").history] == ["a"]
    assert service.users(10) == ["u"]
    assert service.forget("u").events_deleted == 1 and backends.events.count() == 0


def test_catalogue_writes_reach_the_store_and_the_reads(service: Service) -> None:
    items = [Item(item_id="a", title="red shoes", category="shoes"), Item(item_id="b")]
    assert service.upsert_items(items) == 2
    assert service.live.backends.catalogue.count() == 2
    assert [i.item_id for i in service.search_items("RED", None)] == ["a"]
    assert service.category_counts() == [("shoes", 1)]
    assert service.patch_item("b", {"in_stock": False}).in_stock is False
    service.delete_item("b")
    with pytest.raises(NotFoundError):
        service.item("b")
    assert service.is_known_item("a") and not service.is_known_item("zzz")


def test_without_a_model_the_engine_is_not_ready(service: Service) -> None:
    with pytest.raises(NotReadyError):
        service.check_ready()
    assert service.model_record() is None
    with pytest.raises(NotReadyError):
        service.recommend(service.user_request("u", n=3), "u")
    service.close()
