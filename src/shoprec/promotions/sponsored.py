"""Sponsored slots: which campaign's item takes a fixed position of a response, and paying for it.

**Eligible.** A campaign may fill a slot of a request only when it is active, its item is
available, its category targeting matches the request (the categories of the shopper's recent
items, of the items on screen or of the category filter) and — the relevance floor — its item
is among the shopper's first ``floor_rank`` organic candidates for this very request (after
every rule and exclusion). An item the shopper's ranking does not reach never wins, whatever
its bid, so an ad never displaces organic results with something irrelevant. Nor is an ad an
item the response shows organically anyway (the first ``n - slots`` candidates): moving it to
a slot would only push another organic item out, so ads are always incremental.

**Chosen.** Eligible campaigns are ordered by ``bid * p_click``, the predicted click
probability being the campaign's smoothed click-through rate
``(clicks + prior_ctr * m) / (impressions + m)`` times the position discount of its item's
organic rank, ``1 / log2(rank + 2)``. Slots are filled in position order by the best
campaign whose budget can pay for the impression: :meth:`BudgetLedger.spend` charges it
atomically within the paced cap (:func:`paced_cap`), and a campaign that cannot pay is passed
over. One campaign (and one item) per response.

**Placed.** Sponsored items take their positions; the organic ranking fills the others in
order, without the sponsored items (an item already in the organic top ``n`` moves to its
slot rather than showing twice).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from shoprec.events import BudgetLedger, Campaign, CampaignCounts, Pacing
from shoprec.rules import CatalogView, in_category
from shoprec.types import ItemId

from .config import SponsoredConfig

_DAY_S = 86_400


def utc_day(now: float) -> int:
    """Days since the epoch of the UTC day ``now`` falls in (the ledger's day)."""
    return int(now // _DAY_S)


def paced_cap(campaign: Campaign, now: float, slack: float) -> int:
    """The most the campaign may have spent today by ``now``, in micro-units.

    ``asap``: the daily budget. ``even``: the budget times the share of the UTC day elapsed
    plus ``slack`` (at most the budget), so it spreads over the day.
    """
    budget = campaign.budget_micros
    if campaign.pacing is Pacing.ASAP:
        return budget
    elapsed = (now % _DAY_S) / _DAY_S
    return min(budget, math.floor(budget * (elapsed + slack)))


def click_probability(counts: CampaignCounts, rank: int, config: SponsoredConfig) -> float:
    """Predicted click probability of a campaign's item at organic ``rank`` (0-based)."""
    m = config.prior_impressions
    ctr = (counts.clicks + config.prior_ctr * m) / (counts.impressions + m)
    return min(ctr, 1.0) / math.log2(rank + 2)


def targets_match(campaign: Campaign, categories: Iterable[str]) -> bool:
    """Whether the campaign's category targeting admits a request about ``categories``."""
    if not campaign.categories:
        return True
    return any(in_category(have, want) for have in categories for want in campaign.categories)


@dataclass(frozen=True)
class Bid:
    """An eligible campaign for one request.

    Attributes:
        campaign: The campaign.
        rank: Its item's rank among the shopper's organic candidates (0-based).
        p_click: Predicted click probability.
    """

    campaign: Campaign
    rank: int
    p_click: float

    @property
    def value(self) -> float:
        """``bid * p_click``: what the auction orders by."""
        return self.campaign.bid * self.p_click


def eligible_bids(
    campaigns: Sequence[Campaign],
    counts: Mapping[str, CampaignCounts],
    ranked: Sequence[ItemId],
    categories: Iterable[str],
    catalog: CatalogView,
    config: SponsoredConfig,
    shown: int = 0,
) -> list[Bid]:
    """The campaigns that may fill a slot of this request, best ``bid * p_click`` first.

    Args:
        campaigns: Every campaign.
        counts: Their impressions and clicks.
        ranked: The shopper's organic candidates for the request, best first.
        categories: The categories the request is about (targeting).
        catalog: The catalogue (availability).
        config: Floor and click prior.
        shown: How many of the first candidates the response shows organically whatever the
            ads (``n`` less the slots): those are not eligible.

    Returns:
        The eligible bids; ties by campaign id.
    """
    rank_of: dict[ItemId, int] = {}
    for rank, item_id in enumerate(ranked[: config.floor_rank]):
        rank_of.setdefault(item_id, rank)
    for item_id in ranked[:shown]:
        rank_of.pop(item_id, None)
    about = list(dict.fromkeys(categories))
    bids = [
        Bid(c, rank, click_probability(counts.get(c.campaign_id, _NONE), rank, config))
        for c in campaigns
        if (rank := rank_of.get(c.item_id, -1)) >= 0
        and c.active
        and c.daily_budget > 0
        and catalog.is_available(c.item_id)
        and targets_match(c, about)
    ]  # fmt: skip
    bids.sort(key=lambda b: (-b.value, b.campaign.campaign_id))
    return bids


_NONE = CampaignCounts()


def run_auction(
    bids: Sequence[Bid],
    slots: Sequence[int],
    ledger: BudgetLedger,
    now: float,
    config: SponsoredConfig,
) -> dict[int, Bid]:
    """Fill the slots in position order with the best bids that can pay; charge them.

    Each winner's impression is charged atomically (:meth:`BudgetLedger.spend`) within its
    paced cap; a bid that cannot pay is passed over. One winner per campaign and per item.

    Returns:
        Position -> the winning bid (slots without a winner are left out).
    """
    day = utc_day(now)
    winners: dict[int, Bid] = {}
    used: set[ItemId] = set()
    remaining = list(bids)
    for position in slots:
        while remaining:
            bid = remaining.pop(0)
            campaign = bid.campaign
            if campaign.item_id in used:
                continue
            cap = paced_cap(campaign, now, config.pacing_slack)
            if ledger.spend(campaign.campaign_id, day, campaign.cost_micros, cap):
                winners[position] = bid
                used.add(campaign.item_id)
                break
    return winners


def blend(ranked: Sequence[ItemId], n: int, sponsored: Mapping[int, ItemId]) -> list[ItemId]:
    """The response's items: sponsored ones at their positions, organic ones in the others.

    Args:
        ranked: The organic ranking, best first (at least ``n`` items when available).
        n: Length of the response.
        sponsored: Position -> sponsored item.

    Returns:
        Up to ``n`` items; the organic ones keep their order, without the sponsored items.
    """
    promoted = set(sponsored.values())
    organic = iter([i for i in ranked if i not in promoted])
    out: list[ItemId] = []
    for position in range(n):
        item = sponsored.get(position)
        if item is None:
            item = next(organic, None)
            if item is None:
                # Organic results ran out: later sponsored slots move up, in order.
                out.extend(sponsored[p] for p in sorted(sponsored) if p > position)
                break
        out.append(item)
    return out
