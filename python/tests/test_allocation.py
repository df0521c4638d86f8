import json
from decimal import Decimal

import pytest

import apportion
from apportion import (Allocation, Catalog, Even, Fixed, Money, PerExperiment, PerNamespace, PerTenant, PerToken,
                       Proportional, SpecError, Strategy, WeightedSplit)


def test_objects_build_the_same_spec_as_json():
    a = (Allocation(currency="USD")
         .add_pool("node", cost=Money("31.36"))
         .add_record({"namespace": "nlp"}, gpu_seconds=4000000)
         .add_record({"namespace": "cv"}, measures={"gpu_seconds": "6000000"})
         .add_step("teams", PerNamespace(), pool="node"))
    spec = json.loads(a.to_json())
    assert spec == {"apportion": 1, "currency": "USD",
                    "pools": [{"id": "node", "cost": 31.36}],
                    "records": [{"tags": {"namespace": "nlp"}, "measures": {"gpu_seconds": 4000000}},
                                {"tags": {"namespace": "cv"}, "measures": {"gpu_seconds": "6000000"}}],
                    "steps": [{"id": "teams", "pool": "node", "strategy": "per_namespace"}]}
    result = a.run()
    assert result.to_dict() == apportion.run(a.to_spec())
    assert [(l.tags, l.cost) for l in result.lines] == [({"namespace": "cv"}, Decimal("18.82")),
                                                         ({"namespace": "nlp"}, Decimal("12.54"))]


def test_drill_down_and_strategies():
    a = Allocation(precision="0.01")
    a.add_pool("node", "100")
    a.add_pool("serving", from_={"step": "ns", "tags": {"namespace": "llm"}})
    a.add_record({"namespace": "llm"}, pool="node", gpu_seconds=3)
    a.add_record({"namespace": "cv"}, pool="node", gpu_seconds=1)
    a.add_record({"team": "a"}, pool="serving", tokens_prompt=100, tokens_generation=50)
    a.add_record({"team": "b"}, pool="serving", tokens_prompt=50, tokens_generation=100)
    a.add_step("ns", PerNamespace(overhead={"policy": "proportional"}), pool="node")
    a.add_step("tenants", PerTenant(token_weights={"prompt": 1, "generation": 3}), pool="serving")
    r = a.run()
    assert r.pools == {"node": Decimal(100), "serving": Decimal(75)}
    tenants = {l.tags["team"]: l.cost for l in r.lines if l.step == "tenants"}
    assert tenants == {"a": Decimal("31.25"), "b": Decimal("43.75")}


def test_each_strategy_class_writes_its_options():
    assert Proportional({"tokens_prompt": 1}, "team").to_spec() == \
        {"strategy": "proportional", "group_by": ["team"], "weight": {"tokens_prompt": 1}}
    assert PerToken(rate_by="model", unit_precision="0.01").to_spec() == \
        {"strategy": "per_token", "rate_by": ["model"], "unit_precision": "0.01"}
    assert Even(["team", "env"]).to_spec() == {"strategy": "even", "group_by": ["team", "env"]}
    assert Fixed([({"team": "a"}, "0.3"), {"tags": {"team": "b"}, "share": "0.5"}]).to_spec() == \
        {"strategy": "fixed", "shares": [{"tags": {"team": "a"}, "share": "0.3"},
                                         {"tags": {"team": "b"}, "share": "0.5"}]}
    assert WeightedSplit({"gpu": 8}, unused="separate").options == {"capacity": {"gpu": 8}, "unused": "separate"}
    assert PerExperiment().to_spec() == {"strategy": "per_experiment"}
    assert Strategy("even", group_by="team") == Even("team")
    assert repr(Even("team")) == "Even(group_by=['team'])"


def test_fixed_even_weighted_split_run():
    a = Allocation()
    a.add_pool("p", "10").add_pool("q", "9").add_pool("i", "100")
    a.add_record({"team": "a"}, pool="q").add_record({"team": "b"}, pool="q").add_record({"team": "c"}, pool="q")
    a.add_record({"pod": "x"}, pool="i", reserved={"gpu": 2}, used={"gpu": 1})
    a.add_step("f", Fixed([({"team": "a"}, "0.25")]), pool="p")
    a.add_step("e", Even("team"), pool="q")
    a.add_step("w", WeightedSplit({"gpu": 8}, unused="separate"), pool="i")
    r = a.run()
    by = {(l.step, l.kind): l.cost for l in r.lines}
    assert by[("f", "allocated")] == Decimal("2.50") and by[("f", "unallocated")] == Decimal("7.50")
    assert [l.cost for l in r.lines if l.step == "e"] == [Decimal(3)] * 3
    assert by[("w", "allocated")] == Decimal(25) and by[("w", "idle")] == Decimal(75)
    assert [l.split_cost for l in r.lines if l.step == "w" and l.kind == "allocated"] == [Decimal(25)]


def test_runs_with_a_catalog_object():
    a = Allocation(catalog=Catalog.builtin())
    a.add_record({"experiment": "e1"}, sku="spheron/h100-sxm5", count=8,
                 start="2026-06-02T00:00:00Z", end="2026-06-02T01:00:00Z")
    a.add_step("runs", PerExperiment())
    line, = a.run().lines
    rate = Catalog.builtin().rate_at("spheron/h100-sxm5", at="2026-06-02T00:00:00Z")
    assert line.cost == (8 * rate).quantize(Decimal("0.01"))
    assert line.pool is None and line.gpu_hours == Decimal(8)


def test_errors_name_the_path():
    a = Allocation().add_pool("p", "1").add_record({"t": "a"}, gpu_seconds=-1).add_step("s", Even("t"), pool="p")
    with pytest.raises(SpecError, match=r"^records\[0\]\.measures\.gpu_seconds"):
        a.run()
    with pytest.raises(TypeError, match=r"^records\[0\]\.measures\.gpu_seconds: floats are not exact"):
        Allocation().add_record({"t": "a"}, gpu_seconds=1.5).run()
    with pytest.raises(ValueError, match="group_by given both"):
        Allocation().add_step("s", Even("t"), pool="p", group_by="u")
    with pytest.raises(SpecError, match=r"^steps\[0\]"):
        Allocation().add_pool("p", "1").add_step("s", Strategy("even", group_by="t", colour="red"), pool="p").run()


def test_foreign_currency_money_pool():
    a = Allocation().add_pool("p", Money("10", "EUR")).add_record({"t": "a"}).add_step("s", Even("t"), pool="p")
    a.add("fx", {"from": "EUR", "to": "USD", "rate": "1.0850"})
    assert a.to_spec()["pools"][0]["currency"] == "EUR"
    r = a.run()
    assert r.pools == {"p": Decimal("10.85")}
    assert Decimal(r.to_dict()["fx"][0]["rate"]) == Decimal("1.085")
