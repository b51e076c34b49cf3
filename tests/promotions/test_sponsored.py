"""The sponsored-slot auction (#21): the relevance floor, bid x p_click, atomic paced budgets."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shoprec.events import Campaign, CampaignCounts, MemoryLedger, Pacing
from shoprec.promotions import (
    SponsoredConfig,
    blend,
    click_probability,
    eligible_bids,
    paced_cap,
    run_auction,
    utc_day,
)
from shoprec.rules import CatalogView

NOON = 20_000 * 86_400 + 43_200.0
RANKED = [f"i{k}" for k in range(30)]  # the shopper's organic candidates, best first
CONFIG = SponsoredConfig(positions={"home": [1, 5]}, floor_rank=10)


def campaign(campaign_id: str, item_id: str, bid: float = 1.0, **fields: object) -> Campaign:
    values = {"campaign_id": campaign_id, "item_id": item_id, "bid": bid, "daily_budget": 100.0}
    return Campaign.model_validate({**values, **fields})


def test_an_irrelevant_high_bid_never_wins() -> None:
    campaigns = [campaign("loud", "i25", bid=1e6), campaign("absent", "zz", bid=1e6),
                 campaign("fair", "i8", bid=0.5)]  # fmt: skip
    bids = eligible_bids(campaigns, {}, RANKED, [], CatalogView(), CONFIG)
    assert [b.campaign.campaign_id for b in bids] == ["fair"]
    assert bids[0].rank == 8 < CONFIG.floor_rank


def test_bids_are_ordered_by_bid_times_click_probability() -> None:
    campaigns = [campaign("deep", "i9", bid=2.0), campaign("top", "i0", bid=1.0),
                 campaign("clicky", "i5", bid=1.0)]  # fmt: skip
    counts = {"clicky": CampaignCounts(impressions=1000, clicks=200)}
    bids = eligible_bids(campaigns, counts, RANKED, [], CatalogView(), CONFIG)
    assert [b.campaign.campaign_id for b in bids] == ["clicky", "top", "deep"]
    assert click_probability(CampaignCounts(), 0, CONFIG) == pytest.approx(CONFIG.prior_ctr)


def test_availability_targeting_and_pause_decide_eligibility() -> None:
    catalog = CatalogView([])
    catalog.delete(["i1"])
    campaigns = [campaign("gone", "i1"), campaign("paused", "i2", active=False),
                 campaign("socks", "i3", categories=["Socks"]),
                 campaign("shoes", "i4", categories=["Shoes"])]  # fmt: skip
    bids = eligible_bids(campaigns, {}, RANKED, ["Shoes > Boots"], catalog, CONFIG)
    assert [b.campaign.campaign_id for b in bids] == ["shoes"]


def test_slots_go_in_order_to_bids_that_can_pay() -> None:
    ledger = MemoryLedger()
    broke = campaign("broke", "i0", bid=5.0, daily_budget=1.0, pacing="asap")
    rich = campaign("rich", "i3", bid=1.0, pacing="asap")
    same_item = campaign("twin", "i3", bid=0.9, pacing="asap")
    bids = eligible_bids([broke, rich, same_item], {}, RANKED, [], CatalogView(), CONFIG)
    winners = run_auction(bids, [1, 5], ledger, NOON, CONFIG)
    assert {p: b.campaign.campaign_id for p, b in winners.items()} == {1: "rich"}
    counts = ledger.counts(["rich", "broke"], utc_day(NOON))
    assert counts["rich"].impressions == 1 and counts["broke"].impressions == 0


def test_even_pacing_caps_the_spend_by_the_hour() -> None:
    even = campaign("e", "i0", daily_budget=10.0)
    assert paced_cap(even, NOON, 0.0) == 5_000_000
    assert paced_cap(even, NOON, 0.05) == 5_500_000
    assert paced_cap(even, NOON + 43_199, 0.5) == 10_000_000
    assert paced_cap(campaign("a", "i0", daily_budget=10.0, pacing=Pacing.ASAP), NOON, 0) == 10**7


def test_a_budget_of_three_impressions_serves_three_under_threads() -> None:
    ledger = MemoryLedger()
    three = campaign("three", "i2", daily_budget=3.0, pacing="asap")
    bids = eligible_bids([three], {}, RANKED, [], CatalogView(), CONFIG)

    def serve(_: int) -> int:
        return len(run_auction(bids, [1], ledger, NOON, CONFIG))

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sum(pool.map(serve, range(50))) == 3


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(RANKED[:12]), unique=True, max_size=12),
    st.integers(1, 10),
    st.dictionaries(st.integers(0, 9), st.sampled_from(RANKED[:15]), max_size=3),
)
def test_blend_keeps_the_organic_order_and_the_sponsored_positions(
    ranked: list[str], n: int, wanted: dict[int, str]
) -> None:
    # One position per item, as the auction guarantees.
    sponsored = {p: i for i, p in {i: p for p, i in wanted.items() if p < n}.items()}
    out = blend(ranked, n, sponsored)
    assert len(out) == len(set(out)) == min(n, len(set(ranked) | set(sponsored.values())))
    organic = [i for i in out if i not in sponsored.values()]
    assert organic == [i for i in ranked if i not in sponsored.values()][: len(organic)]
    for position, item in sponsored.items():
        if position < len(out) and len(organic) >= position - sum(p < position for p in sponsored):
            assert item in out
    if len(ranked) >= n:
        assert all(out[p] == i for p, i in sponsored.items())
