"""Property-based fuzzing of the API's inputs: arbitrary JSON and parameters never give a 5xx."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoprec.serving import create_app

from .conftest import make_home, make_settings

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
# Bodies shaped like the real ones, with fuzzed values, reach deeper than random JSON.
event_like = st.fixed_dictionaries(
    {"user_id": json_values, "item_id": json_values, "event_type": json_values},
    optional={"timestamp": json_values, "value": json_values, "context": json_values},
)
bodies = (
    json_values | event_like | st.builds(lambda e: {"events": e}, st.lists(event_like, max_size=3))
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
    st.text(max_size=8),
    max_size=4,
)


def test_fuzzed_requests_never_fail_the_server(tmp_path: Path) -> None:
    make_home(tmp_path / "home")
    with TestClient(
        create_app(make_settings(tmp_path / "home")), raise_server_exceptions=False
    ) as client:

        @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(st.sampled_from(BODY_ROUTES), bodies, ids, params)
        def check(
            route: tuple[str, str], body: object, some_id: str, query: dict[str, str]
        ) -> None:
            method, path = route
            assert client.request(method, path, json=body).status_code < 500
            safe = quote(some_id, safe="")
            for path in (f"/v1/users/{safe}/recommendations", f"/v1/items/{safe}/similar"):
                assert client.get(path, params=query).status_code < 500

        check()
