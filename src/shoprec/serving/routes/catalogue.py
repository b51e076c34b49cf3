"""Catalogue routes: browse and read items (read key), insert, change and remove them (write key).

All ``def``: writes wait for the disk, and a browse walks the whole catalogue.
"""

from typing import Annotated

from fastapi import APIRouter, Query

from shoprec.events import Item

from ..dependencies import READ, WRITE, ItemIdPath, ServiceDep
from ..openapi import BODY, COMMON, GUARDED, errors
from ..schemas import Categories, CategoryCount, ItemBatch, ItemList, ItemOut, ItemPatch, ItemsAck

router = APIRouter(
    prefix="/v1", tags=["catalogue"], responses=errors(*BODY, *GUARDED, 404, *COMMON)
)


@router.get("/items", dependencies=[READ])
def list_items(
    service: ServiceDep,
    q: Annotated[
        str | None, Query(max_length=200, description="Words that must all occur.")
    ] = None,
    category: Annotated[
        str | None, Query(max_length=256, description="This category or one below it.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page.")] = 48,
    offset: Annotated[int, Query(ge=0, description="Matches to skip.")] = 0,
) -> ItemList:
    """Browse the catalogue (read-only): search words and a category, paged."""
    matched = service.search_items(q, category)
    page = matched[offset : offset + limit]
    return ItemList(items=[_item_out(i) for i in page], total=len(matched), offset=offset)


@router.get("/items/{item_id}", dependencies=[READ])
def get_item(item_id: ItemIdPath, service: ServiceDep) -> ItemOut:
    """One catalogue item (404 when it is not listed)."""
    return _item_out(service.item(item_id))


@router.get("/categories", dependencies=[READ])
def categories(service: ServiceDep) -> Categories:
    """Every category with its number of listed items, the largest first."""
    counts = service.category_counts()
    return Categories(categories=[CategoryCount(name=n, items=c) for n, c in counts])


@router.put("/items", dependencies=[WRITE])
def put_items(body: ItemBatch, service: ServiceDep) -> ItemsAck:
    """Insert or replace items; new ones are recommendable from the next request."""
    return ItemsAck(upserted=service.upsert_items(body.items))


@router.patch("/items/{item_id}", dependencies=[WRITE])
def patch_item(item_id: ItemIdPath, body: ItemPatch, service: ServiceDep) -> ItemsAck:
    """Change some fields of an item (e.g. ``{"in_stock": false}``), effective at once."""
    service.patch_item(item_id, body.model_dump(exclude_unset=True))
    return ItemsAck(upserted=1)


@router.delete("/items/{item_id}", dependencies=[WRITE], status_code=204)
def delete_item(item_id: ItemIdPath, service: ServiceDep) -> None:
    """Remove an item: it leaves every result from the next request on."""
    service.delete_item(item_id)


def _item_out(item: Item) -> ItemOut:
    return ItemOut(
        item_id=item.item_id,
        title=item.title,
        category=item.category,
        brand=item.brand,
        price=item.price,
        in_stock=item.in_stock,
    )
