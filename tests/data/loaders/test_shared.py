"""The shared benchmark datasets load with the published counts (skipped when absent)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from shoprec.data.loaders import detect_format, load_dataset

# folder -> (users, catalogue items, events, event types)
EXPECTED = {
    "amazon_beauty": (22_363, 12_101, 198_502, {"review"}),
    "movielens_100k": (943, 1_682, 100_000, {"rating"}),
    "taobao_userbehavior_sample": (814, 55_233, 81_936, {"view", "addtocart", "purchase"}),
    "uci_online_retail_head10k": (302, 2_015, 7_580, {"purchase"}),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shared_dataset_loads_with_published_counts(shared_data: Path, name: str) -> None:
    folder = shared_data / name
    if not folder.is_dir():
        pytest.skip(f"{folder} absent")
    users, items, events, kinds = EXPECTED[name]
    assert detect_format(folder) == "shoprec"
    data = load_dataset(folder)
    assert data.events["user_id"].n_unique() == users
    assert data.items.height == items
    assert data.n_events == events
    assert set(data.events["event_type"].unique()) == kinds
    assert data.events["timestamp"].null_count() == 0


def test_amazon_beauty_ids_stay_text(shared_data: Path) -> None:
    folder = shared_data / "amazon_beauty"
    if not folder.is_dir():
        pytest.skip(f"{folder} absent")
    data = load_dataset(folder)
    # ASINs such as 7806397051 look numeric; they must not become numbers.
    assert data.items["item_id"][0] == "7806397051"
    assert data.items["title"].null_count() == 7
    assert data.n_items == 12_101


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)]
)
def test_missing_shared_data_fails_in_ci_and_skips_elsewhere(
    ci: str,
    outcome: type[BaseException],
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """#18: the ``shared_data`` fixture skipped even in CI, where the data must be present."""
    monkeypatch.setattr(sys.modules["conftest"], "SHARED_DATA", tmp_path / "absent")
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="absent"):
        request.getfixturevalue("shared_data")
