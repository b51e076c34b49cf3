"""The synthetic shop: determinism, schema, and every planted pattern recovered from the events."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from shoprec.data import EVENT_SCHEMA, ITEM_SCHEMA, Interactions
from shoprec.data.synthetic import (
    CATEGORIES,
    EVENTS_FILE,
    GENERATION_STEPS,
    ITEMS_FILE,
    SyntheticShop,
    generate_shop,
    preset,
    read_truth,
    write_shop,
)
from shoprec.errors import ConfigError
from shoprec.types import EventType

DAY = 86_400.0


@pytest.fixture(scope="module")
def shop() -> SyntheticShop:
    return generate_shop(preset("small"))


@pytest.fixture(scope="module")
def busy_shop() -> SyntheticShop:
    """More shoppers than ``small`` for tighter rate estimates (still well under a second)."""
    return generate_shop(
        preset("small", n_users=2_000, new_item_share=0.3, out_of_stock_share=0.05)
    )


def purchases(shop: SyntheticShop) -> pl.DataFrame:
    return shop.events.filter(pl.col("event_type") == "purchase").sort("user_id", "timestamp")


def with_category(events: pl.DataFrame, shop: SyntheticShop) -> pl.DataFrame:
    return events.join(shop.items.select("item_id", "category"), on="item_id")


def next_is_complement_rate(shop: SyntheticShop) -> float:
    """Share of main-product purchases whose next purchase by that user is a complement."""
    truth = shop.truth
    complements = pl.DataFrame(
        {"item_id": list(truth.complements), "complements": list(truth.complements.values())}
    )
    bought = purchases(shop).with_columns(pl.col("item_id").shift(-1).over("user_id").alias("next"))
    # Leave a margin at the end, where the follow-up would fall outside the log.
    mains = bought.join(complements, on="item_id").filter(
        pl.col("timestamp") < truth.end_timestamp - 3 * DAY
    )
    assert mains.height > 100
    return float(mains.select(pl.col("complements").list.contains(pl.col("next")).mean()).item())


def repeat_gaps(shop: SyntheticShop) -> pl.DataFrame:
    """Days between consecutive purchases of the same item by the same user, with category."""
    gaps = (
        with_category(purchases(shop), shop)
        .sort("user_id", "item_id", "timestamp")
        .with_columns((pl.col("timestamp").diff().over("user_id", "item_id") / DAY).alias("gap"))
    )
    return gaps.drop_nulls("gap")


def test_same_seed_gives_identical_frames(shop: SyntheticShop) -> None:
    again = generate_shop(preset("small"))
    assert again.events.equals(shop.events)
    assert again.items.equals(shop.items)
    assert again.truth == shop.truth


def test_another_seed_gives_another_shop(shop: SyntheticShop) -> None:
    other = generate_shop(preset("small", seed=1))
    assert not other.events.equals(shop.events)
    assert other.items["title"].to_list() != shop.items["title"].to_list()


def test_frames_conform_to_the_canonical_schemas(shop: SyntheticShop) -> None:
    events, items = shop.events, shop.items
    assert dict(events.schema) == EVENT_SCHEMA
    assert dict(items.schema) == ITEM_SCHEMA
    assert set(events["event_type"].unique()) == {"view", "addtocart", "purchase", "favorite"}
    assert set(events["event_type"].unique()) <= {t.value for t in EventType}
    assert events["user_id"].str.contains(r"^u\d{6}$").all()
    assert items["item_id"].to_list() == [f"i{k:06d}" for k in range(150)]
    assert events["item_id"].is_in(items["item_id"].implode()).all()
    assert events["timestamp"].is_sorted()
    start, end = shop.truth.start_timestamp, shop.truth.end_timestamp
    assert events["timestamp"].is_between(start, end, closed="left").all()
    assert shop.truth.start_timestamp == 1_704_067_200.0  # 2024-01-01T00:00Z
    assert events["session_id"].null_count() == 0
    assert events["context"].null_count() == events.height
    assert all(isinstance(json.loads(a), dict) for a in items["attributes"])


def test_sizes_follow_the_config(shop: SyntheticShop) -> None:
    assert shop.items.height == 150
    assert shop.events["user_id"].n_unique() == 200  # every shopper has at least one session
    assert shop.items["category"].n_unique() == 16
    assert shop.items["brand"].n_unique() <= 20
    assert shop.truth.end_timestamp - shop.truth.start_timestamp == 60 * DAY


def test_purchase_value_is_the_item_price(shop: SyntheticShop) -> None:
    bought = purchases(shop).join(shop.items.select("item_id", "price"), on="item_id")
    assert (bought["value"] == bought["price"]).all()
    assert shop.events.filter(pl.col("event_type") != "purchase")["value"].null_count() == (
        shop.events.height - bought.height
    )


def test_every_purchase_follows_an_add_to_cart_in_its_session(shop: SyntheticShop) -> None:
    carts = shop.events.filter(pl.col("event_type") == "addtocart").select(
        "user_id", "item_id", "session_id", pl.col("timestamp").alias("cart_time")
    )
    bought = purchases(shop).join(carts, on=["user_id", "item_id", "session_id"], how="left")
    assert bought.height == purchases(shop).height  # one cart per purchased item and session
    assert (bought["cart_time"] < bought["timestamp"]).all()


def test_funnel_rates_are_planted() -> None:
    nothing_bought = generate_shop(preset("small", view_to_cart=0.0)).events
    assert set(nothing_bought["event_type"].unique()) == {"view", "favorite"}
    browsing = generate_shop(preset("small", n_users=1_000, accessory_probability=0.0))
    counts = browsing.events.filter(pl.col("event_type") == "addtocart")["session_id"]
    sessions = browsing.events["session_id"].n_unique()
    # Repeat sessions of consumables always convert, so the share is a little above 0.3.
    assert 0.3 <= counts.n_unique() / sessions <= 0.4


def test_next_purchase_after_a_main_product_is_a_complement(busy_shop: SyntheticShop) -> None:
    p = busy_shop.truth.config.accessory_probability
    assert next_is_complement_rate(busy_shop) == pytest.approx(p, abs=0.06)
    unplanted = generate_shop(preset("small", n_users=1_000, accessory_probability=0.0))
    assert next_is_complement_rate(unplanted) < 0.1


def test_complements_come_from_the_family_accessory_categories(shop: SyntheticShop) -> None:
    category = dict(shop.items.select("item_id", "category").iter_rows())
    accessories = {c.name: set(c.accessories) for c in shop.truth.categories if c.role == "main"}
    assert shop.truth.complements
    for main, complements in shop.truth.complements.items():
        assert len(complements) == 3
        assert {category[c] for c in complements} == accessories[category[main]]


def test_consumables_are_bought_again_at_the_planted_interval(busy_shop: SyntheticShop) -> None:
    gaps = repeat_gaps(busy_shop)
    intervals = busy_shop.truth.repeat_intervals
    assert set(intervals) == {"Coffee Beans", "Descalers", "Ink Cartridges", "Printer Paper"}
    for category, days in intervals.items():
        median = gaps.filter(pl.col("category") == category)["gap"].median()
        assert median == pytest.approx(days, rel=0.1), category
    durable = gaps.filter(~pl.col("category").is_in(list(intervals)))
    assert durable.height < 0.2 * gaps.height  # durable goods are rarely bought twice


def test_without_repeats_consumables_are_not_rebought_on_schedule() -> None:
    shop = generate_shop(preset("small", n_users=1_000, repeat_probability=0.0))
    gaps = repeat_gaps(shop).join(
        pl.DataFrame(
            {
                "category": list(shop.truth.repeat_intervals),
                "days": list(shop.truth.repeat_intervals.values()),
            }
        ),
        on="category",
    )
    on_schedule = ((gaps["gap"] - gaps["days"]).abs() < 0.2 * gaps["days"]).sum()
    assert on_schedule < 20


def test_no_event_precedes_an_item_launch(busy_shop: SyntheticShop) -> None:
    launches = pl.DataFrame(
        {
            "item_id": list(busy_shop.truth.launches),
            "launch": list(busy_shop.truth.launches.values()),
        }
    )
    assert launches.height > 20
    seen = busy_shop.events.join(launches, on="item_id")
    assert (seen["timestamp"] >= seen["launch"]).all()
    assert seen["item_id"].n_unique() > 0.8 * launches.height  # new items do get attention
    start, end = busy_shop.truth.start_timestamp, busy_shop.truth.end_timestamp
    assert launches["launch"].is_between(start + 0.1 * (end - start), end).all()


def test_sold_out_items_are_not_bought_afterwards(busy_shop: SyntheticShop) -> None:
    sold_out = pl.DataFrame(
        {
            "item_id": list(busy_shop.truth.sold_out),
            "sold_out": list(busy_shop.truth.sold_out.values()),
        }
    )
    assert sold_out.height > 0
    after = busy_shop.events.join(sold_out, on="item_id").filter(
        pl.col("timestamp") >= pl.col("sold_out")
    )
    assert set(after["event_type"].unique()) <= {"view"}
    in_stock = busy_shop.items.filter(pl.col("item_id").is_in(sold_out["item_id"].implode()))
    assert not in_stock["in_stock"].any()
    assert busy_shop.items["in_stock"].sum() == busy_shop.items.height - sold_out.height


def category_share_by_third(shop: SyntheticShop) -> pl.DataFrame:
    start, end = shop.truth.start_timestamp, shop.truth.end_timestamp
    thirds = with_category(shop.events, shop).with_columns(
        ((pl.col("timestamp") - start) / (end - start) * 3).floor().cast(pl.Int8).alias("third")
    )
    return (
        thirds.group_by("third", "category")
        .len()
        .with_columns((pl.col("len") / pl.col("len").sum().over("third")).alias("share"))
        .pivot("third", index="category", values="share")
        # group_by order is not stable, so name the thirds' columns instead of trusting it.
        .select("category", "0", "1", "2")
    )


def test_popularity_drifts_as_planted(busy_shop: SyntheticShop) -> None:
    truth = busy_shop.truth
    assert len(truth.rising_categories) == 3 and len(truth.falling_categories) == 2
    share = {c: (first, last) for c, first, _, last in category_share_by_third(busy_shop).rows()}
    for category in truth.rising_categories:
        first, last = share[category]
        assert last > 1.6 * first, category
    for category in truth.falling_categories:
        first, last = share[category]
        assert last < first / 1.6, category


def test_without_drift_shares_stay_flat() -> None:
    shop = generate_shop(preset("small", n_users=2_000, drift_strength=0.0))
    for category, first, _, last in category_share_by_third(shop).rows():
        assert first / 1.4 < last < 1.4 * first, category


def test_titles_read_like_products_of_their_category(shop: SyntheticShop) -> None:
    noun = {c.name: c.noun for c in CATEGORIES}
    for title, description, category, brand in shop.items.select(
        "title", "description", "category", "brand"
    ).iter_rows():
        assert noun[category] in title
        assert title.startswith(f"{brand} ")
        assert noun[category] in description and brand in description
    assert shop.items["title"].n_unique() > 0.9 * shop.items.height


def test_prices_are_log_normal_around_the_category_median() -> None:
    items = generate_shop(preset("demo", n_users=10)).items
    spec_price = {c.name: c.price for c in CATEGORIES}
    medians = items.group_by("category").agg(pl.col("price").median(), pl.len())
    for category, median, n in medians.rows():
        if n >= 30:
            assert spec_price[category] / 1.6 < median < 1.6 * spec_price[category], category
    assert (items["price"] > 0).all()
    phones, cases = (
        items.filter(pl.col("category") == c)["price"] for c in ("Phones", "Phone Cases")
    )
    assert phones.min() > np.percentile(cases.to_numpy(), 50)


def test_progress_is_reported_per_step() -> None:
    calls: list[tuple[int, int]] = []
    generate_shop(preset("small", n_users=20), lambda done, total: calls.append((done, total)))
    assert calls == [(k, GENERATION_STEPS) for k in range(1, GENERATION_STEPS + 1)]


def test_written_shop_loads_back(shop: SyntheticShop, tmp_path: Path) -> None:
    write_shop(shop, tmp_path / "shop")
    folder = tmp_path / "shop"
    events = pl.read_csv(folder / EVENTS_FILE)
    items = pl.read_csv(folder / ITEMS_FILE)
    data = Interactions(events, items)
    assert data.n_events == shop.events.height
    assert data.n_items == 150
    assert data.events.equals(shop.events)
    assert data.items.equals(shop.items)
    assert read_truth(folder) == shop.truth


def test_written_files_are_byte_identical_for_the_same_shop(
    shop: SyntheticShop, tmp_path: Path
) -> None:
    write_shop(shop, tmp_path / "a")
    write_shop(generate_shop(preset("small")), tmp_path / "b")
    for name in (EVENTS_FILE, ITEMS_FILE, "truth.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_unknown_preset_names_the_presets() -> None:
    with pytest.raises(
        ConfigError, match="unknown preset 'huge'; expected one of small, demo, large"
    ):
        preset("huge")


def test_impossible_config_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as error:
        preset("small", n_items=10)
    assert str(error.value) == (
        "invalid synthetic shop config: n_items (10) must be at least n_categories (16)"
    )
    with pytest.raises(ConfigError) as error:
        preset("small", accessory_probability=1.5, colour="red")
    assert str(error.value) == (
        "invalid synthetic shop config: accessory_probability = 1.5: Input should be less than"
        " or equal to 1; colour = 'red': Extra inputs are not permitted"
    )


def test_default_config_is_the_demo_preset() -> None:
    demo = preset("demo")
    assert demo == preset("demo", n_users=None)
    assert (demo.n_users, demo.n_items, len(CATEGORIES)) == (3_000, 1_500, demo.n_categories)
