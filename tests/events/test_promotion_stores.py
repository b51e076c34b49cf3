"""Coupon and campaign stores and budget ledgers (#21): durable, forgetful, never overspent."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from shoprec.events import (
    BudgetLedger,
    Campaign,
    Coupon,
    CouponStore,
    MemoryCampaignStore,
    MemoryCouponStore,
    MemoryLedger,
    RedisLedger,
    SQLiteCampaignStore,
    SQLiteCouponStore,
    SQLiteLedger,
    connect_redis,
)


def shoes(coupon_id: str = "shoes", **fields: object) -> Coupon:
    values = {"coupon_id": coupon_id, "scope": "categories", "targets": ["Shoes"], "discount": 0.2}
    return Coupon.model_validate({**values, **fields})


@pytest.fixture(params=["memory", "sqlite"])
def coupons(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CouponStore]:
    store: CouponStore = (
        MemoryCouponStore() if request.param == "memory" else SQLiteCouponStore(tmp_path / "s.db")
    )
    yield store
    store.close()


def test_coupons_are_replaced_keeping_their_counts(coupons: CouponStore) -> None:
    assert coupons.upsert([shoes(), shoes("hats", targets=["Hats"])]) == 2
    assert coupons.redeem("shoes", "alice") and coupons.redeem("shoes", "alice")
    assert not coupons.redeem("unknown", "alice")
    coupons.upsert([shoes(discount=0.5, budget=3)])
    stored = coupons.get("shoes")
    assert stored is not None and stored.coupon.discount == 0.5
    assert (stored.redeemed, stored.budget_left) == (2, 1)
    assert [s.coupon.coupon_id for s in coupons.all()] == ["shoes", "hats"]
    assert coupons.uses("alice") == {"shoes": 2} and coupons.uses("bob") == {}
    assert coupons.delete("shoes") and not coupons.delete("shoes")
    assert coupons.uses("alice") == {} and coupons.get("shoes") is None


def test_forgetting_a_shopper_leaves_no_trace(coupons: CouponStore, tmp_path: Path) -> None:
    coupons.upsert([shoes()])
    coupons.redeem("shoes", "alice")
    assert coupons.forget("alice") == 1
    assert coupons.uses("alice") == {}
    stored = coupons.get("shoes")
    assert stored is not None and stored.redeemed == 1  # the budget stays spent
    for path in tmp_path.glob("*"):
        data = path.read_bytes()
        assert b"alice" not in data  # only ever kept as a hash (as tombstones are)


def test_sqlite_coupons_survive_reopening(tmp_path: Path) -> None:
    with SQLiteCouponStore(tmp_path / "s.db") as store:
        store.upsert([shoes(title="20 % off shoes")])
        store.redeem("shoes", "alice")
    with SQLiteCouponStore(tmp_path / "s.db") as store:
        stored = store.get("shoes")
        assert stored is not None and stored.redeemed == 1
        assert stored.coupon == shoes(title="20 % off shoes")
        assert store.uses("alice") == {"shoes": 1}


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_campaign_stores(kind: str, tmp_path: Path) -> None:
    store = MemoryCampaignStore() if kind == "memory" else SQLiteCampaignStore(tmp_path / "s.db")
    with store:
        first = Campaign(campaign_id="c", item_id="a", bid=0.5, daily_budget=10)
        store.upsert([first, Campaign(campaign_id="d", item_id="b", bid=1, daily_budget=1)])
        store.upsert([first.model_copy(update={"bid": 0.7})])
        assert [c.campaign_id for c in store.all()] == ["c", "d"]
        found = store.get("c")
        assert found is not None and found.bid == 0.7 and found.cost_micros == 700_000
        assert store.delete("d") and not store.delete("d") and store.get("d") is None


@pytest.mark.parametrize("kind", ["memory", "sqlite", "redis"])
def test_concurrent_charges_never_pass_the_cap(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A cap of 3 impressions serves exactly 3 of 60 racing charges, on each ledger."""
    if kind == "memory":
        ledgers: list[BudgetLedger] = [MemoryLedger()] * 4
    elif kind == "sqlite":
        # Separate connections to one file: the file's write lock is what serialises them.
        ledgers = [SQLiteLedger(tmp_path / "s.db") for _ in range(4)]
    else:
        url = request.getfixturevalue("redis_url")
        ledgers = [RedisLedger(connect_redis(url)) for _ in range(4)]  # four "replicas"

    def charge(k: int) -> bool:
        return ledgers[k % 4].spend("c", 7, 1_000_000, 3_000_000)

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sum(pool.map(charge, range(60))) == 3
    ledger = ledgers[0]
    ledger.click("c")
    counts = ledger.counts(["c", "other"], 7)
    assert (counts["c"].impressions, counts["c"].clicks, counts["c"].spent_micros) == (
        3,
        1,
        3_000_000,
    )
    assert counts["other"].impressions == 0
    assert ledger.counts(["c"], 8)["c"].spent_micros == 0  # a new day starts at zero
    assert ledger.spend("c", 8, 1_000_000, 3_000_000)
    ledger.reset("c")
    assert ledger.counts(["c"], 7)["c"].impressions == 0
    for one in set(map(id, ledgers)):
        next(x for x in ledgers if id(x) == one).close()
