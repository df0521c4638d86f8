import datetime as dt
import json
from decimal import Decimal

import pytest

from apportion import Catalog, PriceNotFound, SpecError

CATALOG = {"skus": [{"id": "h100", "unit": "gpu_hour", "billing": "per_minute",
                     "prices": [{"tier": "spot", "rate": "2.91", "from": "2026-06-01T00:00:00Z"},
                                {"tier": "spot", "rate": "3.35", "from": "2026-06-02T12:00:00Z"},
                                {"rate": "3.92"}]}]}


@pytest.fixture
def catalog():
    return Catalog.from_json(json.dumps(CATALOG))


def test_builtin():
    c = Catalog.builtin()
    assert "spheron/h100-sxm5" in c.skus and "spheron/h100-sxm5" in c
    latest = c.rate_at("spheron/h100-sxm5")
    assert latest == c.rate_at("spheron/h100-sxm5", "on_demand", "2200-01-01T00:00:00Z")
    assert isinstance(latest, Decimal) and latest > 0
    assert c.sku("spheron/h100-sxm5")["unit"] == "gpu_hour"
    assert len(c) == len(c.skus)


def test_rate_at(catalog):
    assert catalog.rate_at("h100", "spot", "2026-06-02T11:59:59Z") == Decimal("2.91")
    assert catalog.rate_at("h100", "spot", dt.datetime(2026, 6, 2, 12, tzinfo=dt.timezone.utc)) == Decimal("3.35")
    assert catalog.rate_at("h100", "spot") == Decimal("3.35")
    with pytest.raises(PriceNotFound, match="h100"):
        catalog.rate_at("h100", "spot", "2026-05-31T00:00:00Z")
    with pytest.raises(TypeError, match="naive datetime"):
        catalog.rate_at("h100", "spot", dt.datetime(2026, 6, 2))
    with pytest.raises(SpecError):
        catalog.rate_at("nope")


def test_cost_is_time_weighted(catalog):
    # 4 GPUs, 1h at 2.91 and 1h at 3.35
    cost = catalog.cost("h100", "spot", 4, "2026-06-02T11:00:00Z", "2026-06-02T13:00:00Z")
    assert cost == Decimal(4) * (Decimal("2.91") + Decimal("3.35"))
    # per-minute billing rounds 30 s up to a minute
    assert catalog.run_cost("h100", "on_demand", 1, "2026-06-02T00:00:00Z", "2026-06-02T00:00:30Z") == \
        (Decimal("3.92") / 60).quantize(Decimal("1e-12"))
    with pytest.raises(TypeError):
        catalog.cost("h100", "spot", 1.5, "2026-06-02T11:00:00Z", "2026-06-02T13:00:00Z")
    with pytest.raises(SpecError, match="before it starts"):
        catalog.cost("h100", "spot", 1, "2026-06-02T13:00:00Z", "2026-06-02T11:00:00Z")


def test_sku_and_round_trip(catalog, tmp_path):
    s = catalog.sku("h100")
    assert s["unit"] == "gpu_hour" and s["billing"] == "per_minute"
    assert [p["rate"] for p in s["prices"] if p["tier"] == "spot"] == [Decimal("2.91"), Decimal("3.35")]
    assert catalog.tiers("h100") == ["on_demand", "spot"]
    path = tmp_path / "c.json"
    path.write_text(catalog.to_json())
    assert Catalog.load(path).to_json() == catalog.to_json()
    assert Catalog.load(str(path)).skus == ["h100"]
    merged = catalog.merged(Catalog.builtin())
    assert len(merged) == len(Catalog.builtin()) + 1
    with pytest.raises(SpecError, match="defined twice|twice"):
        catalog.merged(catalog)


def test_bad_catalog_names_the_path():
    with pytest.raises(SpecError, match=r"^skus\[0\]\.unit: must be gpu_hour"):
        Catalog.from_json('{"skus": [{"id": "x", "unit": "parsec", "prices": []}]}')
