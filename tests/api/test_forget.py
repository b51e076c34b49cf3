"""Forget means forgotten (#18): no trace in the home or in any response, no way back in.

Before #18 a forgotten shopper's id stayed in the dashboard's recent events, in rejects files
and in the in-memory co-visitation pairs until the next reload, and an ingest racing the
forget (or a later re-import) brought their events and live state back.
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

from fastapi.testclient import TestClient

from shoprec.events import (
    REJECTS_FOLDER,
    Event,
    SQLiteCatalog,
    SQLiteEventStore,
    import_files,
)
from shoprec.retrieval import Trending
from shoprec.serving import Service, create_app
from shoprec.types import Query

from .conftest import make_home, make_settings

SECRET = "forget-me-7731"


def holding_secret(home: Path) -> list[str]:
    """Every file under ``home`` (the SQLite file and its WAL included) holding the id."""
    return [
        str(p.relative_to(home))
        for p in sorted(home.rglob("*"))
        if p.is_file() and SECRET.encode() in p.read_bytes()
    ]


def admin_responses(client: TestClient) -> str:
    paths = ["/v1/admin/stats", "/v1/users?limit=1000", "/metrics", "/v1/admin/experiments"]
    return "\n".join(client.get(path).text for path in paths)


def their_events(k: int = 0) -> dict[str, object]:
    return {
        "events": [
            {"user_id": SECRET, "item_id": "a", "event_type": "addtocart", "event_id": f"x{k}"},
            {"user_id": SECRET, "item_id": "c", "event_type": "view", "event_id": f"y{k}"},
        ]
    }


def reasons(client: TestClient, user_id: str) -> list[tuple[str, str]]:
    body = client.get(f"/v1/users/{user_id}/recommendations", params={"n": 4}).json()
    return [(item["item_id"], item["reason"]) for item in body["items"]]


def test_no_file_under_the_home_and_no_response_holds_a_forgotten_shopper(tmp_path: Path) -> None:
    """#18: the scan of every file and every admin/API response finds the id before, not after."""
    home = tmp_path / "home"
    make_home(home)
    # An earlier `data import --skip-invalid` set one of their rows aside, under the home.
    bad = tmp_path / "bad.csv"
    bad.write_text(f"user_id,item_id,event_type\n{SECRET},a,teleport\nkept,b,view\n")
    with SQLiteEventStore(home / "shoprec.db") as store, SQLiteCatalog(home / "shoprec.db") as cat:
        rejects = home / REJECTS_FOLDER / "bad.rejects.csv"
        import_files(bad, None, store, cat, skip_invalid=True, rejects_path=rejects)
    with TestClient(create_app(make_settings(home))) as client:
        service: Service = client.app.state.service  # type: ignore[attr-defined]
        assert client.post("/v1/events", json=their_events()).json()["new"] == 2
        assert any("a" in reason for _, reason in reasons(client, SECRET))  # from their history
        assert SECRET in admin_responses(client)  # the scans can find it ...
        assert "shoprec.db-wal" in holding_secret(home)
        assert f"{REJECTS_FOLDER}/bad.rejects.csv" in holding_secret(home)

        forgotten = client.delete(f"/v1/users/{SECRET}")
        service.models.wait_refit(timeout=30)

        assert forgotten.json() == {"user_id": SECRET, "events_deleted": 2, "rejects_deleted": 1}
        assert SECRET not in admin_responses(client)  # ... and find nothing after the forget
        assert reasons(client, SECRET) == reasons(client, "never-seen")
        assert holding_secret(home) == []
        # The client's retry and a re-import are acknowledged and store nothing of theirs.
        retry = client.post("/v1/events", json=their_events())
        assert retry.status_code == 200 and retry.json()["new"] == 0
        with (
            SQLiteEventStore(home / "shoprec.db") as store,
            SQLiteCatalog(home / "shoprec.db") as cat,
        ):
            report = import_files(bad, None, store, cat, skip_invalid=True)
            assert (report.n_events, report.n_forgotten) == (1, 0)  # their row is invalid
            good = tmp_path / "good.csv"
            good.write_text(f"user_id,item_id,event_type\n{SECRET},a,view\nkept,b,view\n")
            report = import_files(good, None, store, cat)
            assert (report.n_events, report.n_forgotten) == (1, 1)
            assert store.latest(SECRET, 10) == []
        assert SECRET not in admin_responses(client)
        assert reasons(client, SECRET) == reasons(client, "never-seen")
        assert holding_secret(home) == []
    assert holding_secret(home) == []


def test_co_visitation_and_popularity_drop_a_forgotten_shopper_at_once(tmp_path: Path) -> None:
    """#18: the in-memory co-visitation pairs kept a forgotten shopper until the next reload."""
    home = tmp_path / "home"
    make_home(home, key="popularity")  # not a co-visitation model: the engine fits the pairs
    now = time.time()
    with SQLiteEventStore(home / "shoprec.db") as store:
        # Only this shopper ever went from d to a.
        store.append(
            [
                Event.model_validate(
                    {"user_id": SECRET, "item_id": i, "event_type": "view", "timestamp": now + k}
                )
                for k, i in enumerate("dadadadada")
            ]
        )
    with TestClient(create_app(make_settings(home))) as client:
        service: Service = client.app.state.service  # type: ignore[attr-defined]

        def goes_with_d() -> tuple[str, ...]:
            covisit = service.engine.pipelines["default"].sources["covisit"]
            return covisit.retrieve(Query(context_items=("d",)), k=10).candidates.item_ids

        def popularity() -> tuple[tuple[str, ...], list[float]]:
            popular = service.engine.pipelines["default"].popular
            assert popular is not None
            top = popular.top(10)
            return top.item_ids, top.scores.tolist()

        pipeline = service.engine.pipelines["default"]
        without_them = Trending(math.inf, pipeline.config.event_weights, resort_interval_s=0)
        with SQLiteEventStore(home / "shoprec.db") as store:
            without_them.observe_frame(store.frame().filter(~(store.frame()["user_id"] == SECRET)))
        expected = without_them.top(10)
        assert "a" in goes_with_d()
        assert popularity() != (expected.item_ids, expected.scores.tolist())

        client.delete(f"/v1/users/{SECRET}")
        service.models.wait_refit(timeout=30)

        assert "a" not in goes_with_d()
        assert popularity() == (expected.item_ids, expected.scores.tolist())
        assert service.engine.version == pipeline.version  # same model, not reloaded


def test_an_ingest_racing_the_forget_cannot_bring_the_shopper_back(
    client: TestClient, home: Path
) -> None:
    """#18: a concurrent ingest brought a forgotten shopper's events and live state back."""
    service: Service = client.app.state.service  # type: ignore[attr-defined]
    stop = threading.Event()
    acks: list[int] = []

    def send(sender: int) -> None:
        k = 0
        while not stop.is_set():
            ack = client.post("/v1/events", json=their_events(1000 * sender + k))
            acks.append(ack.json()["new"])
            k += 1

    senders = [threading.Thread(target=send, args=(s,)) for s in range(3)]
    for sender in senders:
        sender.start()
    deadline = time.monotonic() + 30
    while len(acks) < 10 and time.monotonic() < deadline:
        time.sleep(0.005)
    client.delete(f"/v1/users/{SECRET}")
    after_forget = len(acks)
    while len(acks) < after_forget + 10 and time.monotonic() < deadline:
        time.sleep(0.005)
    stop.set()
    for sender in senders:
        sender.join()
    service.models.wait_refit(timeout=30)

    assert 2 in acks[:after_forget] and acks[-3:] == [0, 0, 0]  # stored before, refused after
    with SQLiteEventStore(home / "shoprec.db") as store:
        assert store.latest(SECRET, 1000) == []
    assert service.shopper(SECRET).history == ()
    assert SECRET not in admin_responses(client)


def test_forgetting_takes_the_shoppers_weight_out_of_trending_at_once(home: Path) -> None:
    """#18: in-memory aggregates must drop a forgotten shopper's contribution at once."""
    with TestClient(create_app(make_settings(home))) as client:
        buys = {"events": [{"user_id": "fan", "item_id": "f", "event_type": "purchase"}] * 40}
        assert client.post("/v1/events", json=buys).status_code == 200
        top = client.get("/v1/users/newcomer/recommendations", params={"n": 1}).json()
        assert top["items"][0]["item_id"] == "f"  # 40 purchases: the most trending item
        assert client.delete("/v1/users/fan").status_code == 200
        top = client.get("/v1/users/newcomer/recommendations", params={"n": 1}).json()
        assert top["items"][0]["item_id"] == "d"  # the shop's own best-seller again


def test_an_explicit_unforget_accepts_the_shoppers_events_again(home: Path) -> None:
    event = {"user_id": "back", "item_id": "a", "event_type": "view"}
    with TestClient(create_app(make_settings(home))) as client:
        assert client.post("/v1/events", json=event).json()["new"] == 1
        assert client.delete("/v1/users/back").json()["events_deleted"] == 1
        assert client.post("/v1/events", json=event).json()["new"] == 0  # tombstoned
        lifted = client.post("/v1/users/back/unforget").json()
        assert lifted == {"user_id": "back", "was_forgotten": True}
        assert client.post("/v1/events", json=event).json()["new"] == 1
        again = client.post("/v1/users/back/unforget").json()
        assert again["was_forgotten"] is False
