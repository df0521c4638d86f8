from collections.abc import Mapping

import pytest

from apportion import SpecError, Tags


def test_mapping():
    t = Tags({"team": "nlp", "namespace": "a"})
    assert isinstance(t, Mapping)
    assert list(t) == ["namespace", "team"]
    assert t["team"] == "nlp" and t.get("nope") is None and t.get("nope", "x") == "x"
    assert "team" in t and "nope" not in t and 3 not in t
    assert len(t) == 2
    assert t.items() == [("namespace", "a"), ("team", "nlp")]
    assert t == {"team": "nlp", "namespace": "a"}
    assert t == Tags(team="nlp", namespace="a") == Tags([("namespace", "a"), ("team", "nlp")])
    assert dict(t) == t.to_dict()
    with pytest.raises(KeyError):
        t["nope"]


def test_canonical_order_and_hash():
    assert Tags(a="1") < Tags(a="2") < Tags(b="0")
    assert sorted([Tags(team="b"), Tags(team="a")]) == [Tags(team="a"), Tags(team="b")]
    assert len({Tags(a="1", b="2"), Tags(b="2", a="1")}) == 1


def test_values_must_be_str_and_keys_unique():
    with pytest.raises(TypeError):
        Tags(team=3)
    with pytest.raises(SpecError, match="given twice"):
        Tags([("a", "1"), ("a", "2")])


def test_with_tag_and_normalized():
    t = Tags(team_name="nlp", env="prod")
    assert t.with_tag("team_name", "cv")["team_name"] == "cv"
    assert t.normalized() == {"team": "nlp", "environment": "prod"}
    assert t.contains_all(Tags(env="prod"))
    with pytest.raises(SpecError):
        Tags(team="a", team_name="b").normalized()
