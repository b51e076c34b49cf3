"""Forgetting a shopper in the stores: tombstone, events, live state, rejected rows (#18)."""

from __future__ import annotations

from pathlib import Path

from shoprec.events import (
    Event,
    MemoryEventStore,
    MemoryStateStore,
    forget_in_rejects,
    forget_shopper,
    unforget_shopper,
)
from shoprec.types import EventType

REJECTS = (
    "file,line,field,message,user_id,item_id,event_type\n"
    "a.csv,2,event_type,unknown,gone,x,teleport\n"
    "a.csv,3,event_type,unknown,kept,y,teleport\n"
    "a.csv,4,user_id,shifted,,gone,view\n"
)


def _event(user: str, item: str) -> Event:
    return Event(user_id=user, item_id=item, event_type=EventType.VIEW, timestamp=1)


def test_forget_shopper_clears_store_state_and_rejects(tmp_path: Path) -> None:
    """#18: forgetting left the shopper's id in rejects files and let their events back."""
    store = MemoryEventStore()
    state = MemoryStateStore(store)
    store.append([_event("gone", "a"), _event("kept", "b")])
    assert state.get("gone").history  # held in live state
    rejects = tmp_path / "rejects"
    (rejects / "old").mkdir(parents=True)
    (rejects / "a.rejects.csv").write_text(REJECTS)
    (rejects / "old" / "b.rejects.csv").write_text(REJECTS)
    (rejects / "notes.txt").write_text("gone")  # not a rejects file: left alone

    erased = forget_shopper("gone", store, state, rejects)

    assert (erased.events_deleted, erased.rejects_deleted) == (1, 4)
    assert store.users() == ["kept"] and state.get("gone").history == ()
    for path in (rejects / "a.rejects.csv", rejects / "old" / "b.rejects.csv"):
        text = path.read_text()
        assert "gone" not in text and "kept" in text
    assert store.append_new([_event("gone", "c")]).new == 0
    assert forget_shopper("gone", store, state, rejects).rejects_deleted == 0  # idempotent
    assert unforget_shopper("gone", store) is True
    assert store.append_new([_event("gone", "c")]).new == 1


def test_no_rejects_folder_is_nothing_to_clean(tmp_path: Path) -> None:
    assert forget_in_rejects(tmp_path / "missing", "gone") == 0
