"""The live side of promotions: coupons and campaigns as they are registered, offered and used.

:class:`Promotions` runs on the coupon store, campaign store and budget ledger of
:class:`~shoprec.serving.backends.Backends` and on the catalogue mirror. It answers
``GET /v1/users/{user_id}/coupons`` with the shopper's usable coupons ranked by expected
uplift (:func:`shoprec.promotions.rank_coupons`), counts redemptions (``coupon_redeem``
events) and sponsored clicks (``click`` events quoting ``context.campaign_id``) from the events
the store stored, and fills the sponsored slots of a response
(:func:`shoprec.promotions.eligible_bids`, :func:`~shoprec.promotions.run_auction`), charging
each impression to the campaign's budget. Impressions and redemptions of coupons since the
process started are counted in memory for the dashboard; budgets, redemption totals and
campaign counters are durable in the stores.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from shoprec.events import (
    CAMPAIGN_ID,
    COUPON_ID,
    Campaign,
    CampaignCounts,
    Coupon,
    Event,
    Item,
    StoredCoupon,
)
from shoprec.pipeline import RecommendedItem, Request
from shoprec.promotions import (
    CouponOffer,
    PromotionsConfig,
    ScopeIndex,
    blend,
    eligible_bids,
    paced_cap,
    rank_coupons,
    run_auction,
    utc_day,
)
from shoprec.rules import CatalogView
from shoprec.types import EventType, HistoryEvent, UserId

from .backends import Backends
from .errors import NotFoundError

# The scope index and the campaign list are re-read at most this often (and at once after a
# write through this process), so another process's writes show within this time.
_REFRESH_S = 5.0
# The categories a request is about: those of this many of the shopper's latest items.
_RECENT_ITEMS = 20
#: The ``source`` of a sponsored item in a response.
SPONSORED_SOURCE = "sponsored"
_REDEEM = EventType.COUPON_REDEEM.value
_CLICK = EventType.CLICK.value


@dataclass(frozen=True)
class CouponReport:
    """A coupon with its counters, for the operator.

    Attributes:
        stored: The coupon and its redemptions in all.
        impressions: Times it was offered since the service started.
        redemptions: Redemptions since the service started.
    """

    stored: StoredCoupon
    impressions: int
    redemptions: int


@dataclass(frozen=True)
class CampaignReport:
    """A campaign with its counters and today's paced cap, for the operator.

    Attributes:
        campaign: The campaign.
        counts: Impressions and clicks in all, spend today (micro-units).
        cap_micros: What it may have spent by now today (micro-units).
    """

    campaign: Campaign
    counts: CampaignCounts
    cap_micros: int


class Promotions:
    """Coupons offered and redeemed; sponsored slots auctioned and paid for.

    Args:
        backends: The opened stores (coupons, campaigns, ledger).
        config: The promotions settings.
        catalog: The catalogue mirror the rules read.
        listed: Every listed item (to count what each coupon scope holds).
        clock: Seconds since the epoch (tests pass their own).
    """

    def __init__(
        self,
        backends: Backends,
        config: PromotionsConfig,
        catalog: CatalogView,
        listed: Callable[[], list[Item]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._coupons = backends.coupons
        self._campaigns = backends.campaigns
        self._ledger = backends.ledger
        self.config = config
        self._catalog = catalog
        self._listed = listed
        self.clock = clock
        self._lock = threading.Lock()
        self._offered: Counter[str] = Counter()
        self._redeemed: Counter[str] = Counter()
        self._scopes: tuple[float, ScopeIndex] | None = None
        self._campaign_list: tuple[float, list[Campaign]] | None = None

    # -- coupons ---------------------------------------------------------------------------
    def put_coupons(self, coupons: Sequence[Coupon]) -> int:
        """Store coupons (their counts stay); how many were written."""
        return self._coupons.upsert(coupons)

    def coupon_reports(self) -> list[CouponReport]:
        """Every coupon with its counters, in registration order."""
        stored = self._coupons.all()
        with self._lock:
            return [
                CouponReport(s, self._offered[i], self._redeemed[i])
                for s in stored
                if (i := s.coupon.coupon_id)
            ]

    def delete_coupon(self, coupon_id: str) -> None:
        """Remove a coupon.

        Raises:
            NotFoundError: No such coupon.
        """
        if not self._coupons.delete(coupon_id):
            raise NotFoundError(f"no coupon {coupon_id!r}")
        with self._lock:
            self._offered.pop(coupon_id, None)
            self._redeemed.pop(coupon_id, None)

    def offers(self, user_id: UserId, history: Sequence[HistoryEvent]) -> list[CouponOffer]:
        """The coupons the shopper can use, by expected uplift, at most ``max_coupons``.

        Args:
            user_id: The shopper as the stores name them (pseudonymised if configured).
            history: Their live history, oldest first.
        """
        coupons = self._coupons.all()
        if not coupons:
            return []
        ranked = rank_coupons(
            coupons,
            history,
            self._catalog,
            self._scope_index(),
            self._coupons.uses(user_id),
            self.clock(),
            self.config.coupons,
        )[: self.config.max_coupons]
        with self._lock:
            self._offered.update(o.coupon.coupon_id for o in ranked)
        return ranked

    def _scope_index(self) -> ScopeIndex:
        now = time.monotonic()
        cached = self._scopes
        if cached is not None and now - cached[0] < _REFRESH_S:
            return cached[1]
        index = ScopeIndex.build(self._listed())
        self._scopes = (now, index)
        return index

    def catalogue_changed(self) -> None:
        """Count the scopes' available items again at the next request."""
        self._scopes = None

    # -- events and shoppers ---------------------------------------------------------------
    def observe(self, events: Sequence[Event]) -> None:
        """Count redemptions and sponsored clicks among events the store just stored."""
        for event in events:
            kind = event.event_type.value
            if kind == _REDEEM:
                coupon_id = event.context.get(COUPON_ID)
                if isinstance(coupon_id, str) and self._coupons.redeem(coupon_id, event.user_id):
                    with self._lock:
                        self._redeemed[coupon_id] += 1
            elif kind == _CLICK:
                campaign_id = event.context.get(CAMPAIGN_ID)
                if isinstance(campaign_id, str) and self._campaign(campaign_id) is not None:
                    self._ledger.click(campaign_id)

    def forget(self, user_id: UserId) -> None:
        """Drop what the coupon store keeps of a shopper (as the stores name them)."""
        self._coupons.forget(user_id)

    # -- campaigns -------------------------------------------------------------------------
    def put_campaigns(self, campaigns: Sequence[Campaign]) -> int:
        """Store campaigns; how many were written."""
        count = self._campaigns.upsert(campaigns)
        self._campaign_list = None
        return count

    def campaign_reports(self, campaign_id: str | None = None) -> list[CampaignReport]:
        """Every campaign (or the one named) with its counters and today's paced cap.

        Raises:
            NotFoundError: ``campaign_id`` names no campaign.
        """
        if campaign_id is None:
            campaigns = self._campaigns.all()
        else:
            found = self._campaigns.get(campaign_id)
            if found is None:
                raise NotFoundError(f"no campaign {campaign_id!r}")
            campaigns = [found]
        now = self.clock()
        counts = self._ledger.counts([c.campaign_id for c in campaigns], utc_day(now))
        slack = self.config.sponsored.pacing_slack
        return [
            CampaignReport(c, counts[c.campaign_id], paced_cap(c, now, slack)) for c in campaigns
        ]

    def delete_campaign(self, campaign_id: str) -> None:
        """Remove a campaign and its counters.

        Raises:
            NotFoundError: No such campaign.
        """
        if not self._campaigns.delete(campaign_id):
            raise NotFoundError(f"no campaign {campaign_id!r}")
        self._ledger.reset(campaign_id)
        self._campaign_list = None

    def _active_campaigns(self) -> list[Campaign]:
        now = time.monotonic()
        cached = self._campaign_list
        if cached is not None and now - cached[0] < _REFRESH_S:
            return cached[1]
        campaigns = [c for c in self._campaigns.all() if c.active and c.daily_budget > 0]
        self._campaign_list = (now, campaigns)
        return campaigns

    def _campaign(self, campaign_id: str) -> Campaign | None:
        known = {c.campaign_id: c for c in self._active_campaigns()}
        return known.get(campaign_id) or self._campaigns.get(campaign_id)

    # -- sponsored slots -------------------------------------------------------------------
    def depth(self, request: Request) -> int | None:
        """How many organic items to rank for a request with sponsored slots; else ``None``.

        A request carries ads when its scenario has slots below its ``n``, campaigns run and
        it pins no item (hand-placed items keep their positions).
        """
        sponsored = self.config.sponsored
        if request.pins or not sponsored.slots(request.scenario, request.n):
            return None
        if not self._active_campaigns():
            return None
        return max(request.n, sponsored.floor_rank)

    def sponsor(
        self, request: Request, ranked: Sequence[RecommendedItem]
    ) -> tuple[list[RecommendedItem], dict[int, str]]:
        """The response with its sponsored slots filled and paid for.

        Args:
            request: The request (scenario, ``n``, the shopper's history and context).
            ranked: The organic ranking, at least :meth:`depth` items deep when available.

        Returns:
            The ``n`` items, and position -> campaign id of the sponsored ones.
        """
        config = self.config.sponsored
        n = request.n
        slots = config.slots(request.scenario, n)
        campaigns = self._active_campaigns()
        if not slots or not campaigns or request.pins:
            return list(ranked[:n]), {}
        ids = [r.item_id for r in ranked]
        top = set(ids[: config.floor_rank])
        reachable = [c for c in campaigns if c.item_id in top]
        if not reachable:
            return list(ranked[:n]), {}
        now = self.clock()
        counts = self._ledger.counts([c.campaign_id for c in reachable], utc_day(now))
        bids = eligible_bids(
            reachable, counts, ids, self._categories(request), self._catalog, config, n - len(slots)
        )
        winners = run_auction(bids, slots, self._ledger, now, config)
        if not winners:
            return list(ranked[:n]), {}
        by_id = {r.item_id: r for r in ranked}
        order = blend(ids, n, {p: b.campaign.item_id for p, b in winners.items()})
        sponsored_items = {b.campaign.item_id: b.campaign.campaign_id for b in winners.values()}
        items = [
            replace(by_id[i], source=SPONSORED_SOURCE) if i in sponsored_items else by_id[i]
            for i in order
        ]
        positions = {p: sponsored_items[i] for p, i in enumerate(order) if i in sponsored_items}
        return items, positions

    def _categories(self, request: Request) -> list[str]:
        """The categories a request is about: filter, items on screen, the latest history."""
        query = request.query
        items = list(query.context_items) + [e.item_id for e in query.history[-_RECENT_ITEMS:]]
        found = [item.category for i in items if (item := self._catalog.get(i)) and item.category]
        if request.filters.category:
            found.append(request.filters.category)
        return found
