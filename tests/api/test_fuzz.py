"""Property-based fuzzing of the API's inputs: never a 5xx, and bad values get a 422 naming them.

Bodies go on the wire as Python's ``json.dumps`` writes them, so ``NaN``/``Infinity`` tokens
and ``\\ud800``-style escapes of lone surrogates (valid JSON, invalid text) reach the server.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoprec.serving import create_app

from .conftest import CATEGORIES, make_home, make_settings

#: Text with exactly one lone surrogate in it (any other character stays valid).
lone_surrogate = st.builds(
    "{}{}{}".format,
    st.text(max_size=4),
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
    st.text(max_size=4),
)
nonfinite = st.sampled_from([math.nan, math.inf, -math.inf])
texts = st.text(max_size=20) | lone_surrogate
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
# Bodies shaped like the real ones, with fuzzed values, reach deeper than random JSON.
event_like = st.fixed_dictionaries(
    {"user_id": json_values, "item_id": json_values, "event_type": json_values},
    optional={"timestamp": json_values, "value": json_values, "context": json_values},
)
merchandising = st.fixed_dictionaries(
    {},
    optional={
        "n": json_values,
        "boost_items": st.dictionaries(texts, json_values, max_size=3),
        "boost_categories": st.dictionaries(texts, json_values, max_size=3),
        "pins": st.dictionaries(texts, json_values, max_size=3),
        "exclude": json_values,
        "search": json_values,
    },
)
bodies = (
    json_values
    | event_like
    | merchandising
    | st.builds(lambda e: {"events": e}, st.lists(event_like, max_size=3))
)
BODY_ROUTES = [
    ("POST", "/v1/events"),
    ("POST", "/v1/recommendations"),
    ("POST", "/v1/cart/recommendations"),
    ("PUT", "/v1/items"),
    ("PATCH", "/v1/items/a"),
]
ids = st.text(min_size=1, max_size=12).filter(lambda s: "/" not in s and s not in {".", ".."})
params = st.dictionaries(
    st.sampled_from(["n", "scenario", "category", "min_price", "max_price", "exclude"]),
    st.text(max_size=8) | st.sampled_from(["nan", "inf", "-inf", "1e400"]),
    max_size=4,
)

EVENT = {"user_id": "u1", "item_id": "a", "event_type": "view"}
#: Fields holding arbitrary JSON objects.
FREE_FORM = {"context", "attributes"}
bad_boosts = nonfinite | st.floats(max_value=-1e-6) | st.floats(min_value=1000.001)
bad_positions = (
    nonfinite
    | st.integers(max_value=-1)
    | st.integers(min_value=100)
    | st.floats(0.01, 0.99).map(lambda f: 1 + f)
)


def _invalid(
    method: str, path: str, base: dict[str, Any], where: tuple[str | int, ...], value: Any
) -> tuple[str, str, dict[str, Any], str]:
    """``base`` with ``value`` at ``where``, and the field a 422 must name."""
    body = json.loads(json.dumps(base))
    node = body
    for key in where[:-1]:
        node = node.setdefault(key, {}) if isinstance(key, str) else node[key]
    node[where[-1]] = value
    # Free-form JSON objects are validated whole: the 422 names the object, not the key.
    named = where[:1] if where[0] in FREE_FORM else where
    return method, path, body, "body." + ".".join(map(str, named))


def _invalid_key(
    path: str, field: str, key: str, value: float
) -> tuple[str, str, dict[str, Any], str]:
    """A merchandising map whose key (not its value) is the invalid text."""
    return "POST", path, {field: {key: value}}, f"body.{field}"


invalid_requests = st.one_of(
    st.builds(
        _invalid,
        st.just("POST"),
        st.just("/v1/events"),
        st.just(EVENT),
        st.sampled_from([("user_id",), ("item_id",), ("context", "note")]),
        lone_surrogate,
    ),
    st.builds(
        _invalid,
        st.just("POST"),
        st.just("/v1/events"),
        st.just(EVENT),
        st.sampled_from([("timestamp",), ("value",)]),
        nonfinite,
    ),
    st.builds(
        _invalid,
        st.just("POST"),
        st.sampled_from(["/v1/recommendations", "/v1/cart/recommendations"]),
        st.just({"n": 3}),
        st.sampled_from([("boost_items", "a"), ("boost_categories", "shoes")]),
        bad_boosts,
    ),
    st.builds(
        _invalid,
        st.just("POST"),
        st.just("/v1/recommendations"),
        st.just({"n": 3}),
        st.just(("pins", "b")),
        bad_positions,
    ),
    st.builds(
        _invalid,
        st.just("POST"),
        st.just("/v1/recommendations"),
        st.just({}),
        st.sampled_from([("search",), ("category",), ("user_id",)]),
        lone_surrogate,
    ),
    st.builds(
        _invalid,
        st.just("POST"),
        st.just("/v1/recommendations"),
        st.just({}),
        st.sampled_from([("n",), ("min_price",), ("max_price",)]),
        nonfinite,
    ),
    st.builds(
        _invalid_key,
        st.just("/v1/recommendations"),
        st.sampled_from(["boost_items", "boost_categories", "pins"]),
        lone_surrogate,
        st.just(1),
    ),
    st.builds(
        _invalid,
        st.just("PUT"),
        st.just("/v1/items"),
        st.just({"items": [{"item_id": "x", "title": "X"}]}),
        st.sampled_from([("items", 0, "title"), ("items", 0, "item_id")]),
        lone_surrogate,
    ),
    st.builds(
        _invalid,
        st.just("PUT"),
        st.just("/v1/items"),
        st.just({"items": [{"item_id": "x", "title": "X"}]}),
        st.just(("items", 0, "price")),
        nonfinite,
    ),
    st.builds(
        _invalid,
        st.just("PATCH"),
        st.just("/v1/items/a"),
        st.just({}),
        st.sampled_from([("title",), ("category",), ("attributes", "colour")]),
        lone_surrogate,
    ),
    st.builds(
        _invalid,
        st.just("PATCH"),
        st.just("/v1/items/a"),
        st.just({}),
        st.just(("price",)),
        nonfinite,
    ),
)


def _send(client: TestClient, method: str, path: str, body: object) -> Any:
    # allow_nan and ensure_ascii (the defaults) put NaN/Infinity and \\udxxx escapes on the wire.
    content = json.dumps(body).encode()
    headers = {"content-type": "application/json"}
    return client.request(method, path, content=content, headers=headers)


@pytest.fixture
def client(tmp_path: Path) -> Any:
    make_home(tmp_path / "home")
    app = create_app(make_settings(tmp_path / "home"))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_fuzzed_requests_never_fail_the_server(client: TestClient) -> None:
    @settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.sampled_from(BODY_ROUTES), bodies, ids, params)
    def check(route: tuple[str, str], body: object, some_id: str, query: dict[str, str]) -> None:
        method, path = route
        assert _send(client, method, path, body).status_code < 500
        safe = quote(some_id, safe="")
        for path in (f"/v1/users/{safe}/recommendations", f"/v1/items/{safe}/similar"):
            assert client.get(path, params=query).status_code < 500

    check()


def test_invalid_values_get_422_naming_the_field(client: TestClient) -> None:
    """#18: NaN/Infinity, lone surrogates, bad boosts and pins are refused, never a 500."""

    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(invalid_requests)
    def check(case: tuple[str, str, dict[str, Any], str]) -> None:
        method, path, body, field = case
        response = _send(client, method, path, body)
        assert response.status_code == 422, (body, response.text)
        named = [error["field"] for error in response.json()["errors"]]
        assert any(name.startswith(field) for name in named), (field, named)

    check()


def test_valid_boosts_and_pins_are_served_with_the_pin_in_place(client: TestClient) -> None:
    """#18: boosts in [0, 1000] and pins in [0, 100) are accepted; a pin holds its position."""
    items = sorted(CATEGORIES)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        st.sampled_from(items),
        st.integers(0, 4),
        st.dictionaries(st.sampled_from([*items, "unknown"]), st.floats(0, 1000), max_size=4),
        st.dictionaries(
            st.sampled_from([*set(CATEGORIES.values()), "none"]), st.floats(0, 1000), max_size=3
        ),
    )
    def check(
        pinned: str, position: int, boosts: dict[str, float], by_category: dict[str, float]
    ) -> None:
        body = {
            "n": 5,
            "pins": {pinned: position},
            "boost_items": boosts,
            "boost_categories": by_category,
        }
        response = _send(client, "POST", "/v1/recommendations", body)
        assert response.status_code == 200, response.text
        shown = [item["item_id"] for item in response.json()["items"]]
        assert len(shown) == 5 == len(set(shown))
        assert shown[position] == pinned

    check()
