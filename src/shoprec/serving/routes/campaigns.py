"""Sponsored-product campaign routes: register, read and remove campaigns (admin key only).

All ``def``: the campaign store and the budget ledger are read and written on the disk (or
in Redis).
"""

from fastapi import APIRouter

from shoprec.errors import Problem, ValidationError
from shoprec.events import MICROS

from ..dependencies import ADMIN, ServiceDep, UserIdPath
from ..openapi import BODY, COMMON, GUARDED, errors
from ..promotion_schemas import CampaignBatch, CampaignList, CampaignStatus, Upserted
from ..promotions import CampaignReport

router = APIRouter(
    prefix="/v1",
    tags=["campaigns"],
    dependencies=[ADMIN],
    responses=errors(*BODY, *GUARDED, *COMMON),
)


@router.put("/campaigns")
def put_campaigns(body: CampaignBatch, service: ServiceDep) -> Upserted:
    """Register or replace campaigns (admin key); counters and today's spend stay.

    A campaign's item may take a sponsored slot (``[serving.promotions.sponsored]``
    positions) of a response from the next request on, when it clears the relevance floor.
    """
    limit = service.config.max_batch_size
    if len(body.campaigns) > limit:
        message = f"{len(body.campaigns)} campaigns in one request; at most {limit} allowed"
        raise ValidationError([Problem("body", None, "campaigns", message)])
    return Upserted(upserted=service.promotions.put_campaigns(body.campaigns))


@router.get("/campaigns")
def list_campaigns(service: ServiceDep) -> CampaignList:
    """Every campaign with impressions, clicks, CTR and today's spend (admin key)."""
    return CampaignList(campaigns=[_status(r) for r in service.promotions.campaign_reports()])


@router.get("/campaigns/{campaign_id}", responses=errors(404))
def get_campaign(campaign_id: UserIdPath, service: ServiceDep) -> CampaignStatus:
    """One campaign with its counters (admin key); 404 when there is none."""
    return _status(service.promotions.campaign_reports(campaign_id)[0])


@router.delete("/campaigns/{campaign_id}", status_code=204, responses=errors(404))
def delete_campaign(campaign_id: UserIdPath, service: ServiceDep) -> None:
    """Remove a campaign and its counters (admin key); 404 when there is none."""
    service.promotions.delete_campaign(campaign_id)


def _status(report: CampaignReport) -> CampaignStatus:
    counts = report.counts
    return CampaignStatus(
        **report.campaign.model_dump(),
        impressions=counts.impressions,
        clicks=counts.clicks,
        ctr=counts.clicks / counts.impressions if counts.impressions else 0.0,
        spent_today=counts.spent_micros / MICROS,
        paced_budget_now=report.cap_micros / MICROS,
    )
