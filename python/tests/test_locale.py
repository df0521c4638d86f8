"""The same bytes under any locale: a host that calls setlocale(LC_ALL, "") under a
decimal-comma locale (de_DE, fr_FR) must not change how JSON decimals are read."""
import locale
import os
from decimal import Decimal

import pytest

import apportion

SPEC = {"apportion": 1, "pools": [{"id": "node", "cost": Decimal("31.36")}],
        # The \u00e9 (written by json.dumps as an escape) takes the full JSON reader.
        "records": [{"tags": {"team": "caf\u00e9"}, "measures": {"gpu_seconds": Decimal("12.5")}},
                    {"tags": {"team": "b"}, "measures": {"gpu_seconds": Decimal("2.5E+1")}}],
        "steps": [{"id": "s", "strategy": "proportional", "pool": "node", "group_by": ["team"],
                   "weight": "gpu_seconds"}]}
TEXT = ('{"apportion": 1, "pools": [{"id": "node", "cost": 31.36}], "records": ['
        '{"tags": {"team": "caf\\u00e9"}, "measures": {"gpu_seconds": 12.5}},'
        '{"tags": {"team": "b"}, "measures": {"gpu_seconds": 25}}], "steps": [{"id": "s", '
        '"strategy": "proportional", "pool": "node", "group_by": ["team"], "weight": "gpu_seconds"}]}')


def decimal_comma_locale():
    for name in ("de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8"):
        try:
            locale.setlocale(locale.LC_ALL, name)
            return name
        except locale.Error:
            continue
    if os.environ.get("APPORTION_REQUIRE_LOCALE"):
        pytest.fail("no decimal-comma locale is installed (scripts/gen-locales.sh makes de_DE.UTF-8)")
    pytest.skip("no decimal-comma locale installed (scripts/gen-locales.sh)")


def test_results_do_not_depend_on_the_locale():
    before = [apportion.run(SPEC), apportion.run(TEXT)]
    saved = locale.setlocale(locale.LC_ALL)
    try:
        decimal_comma_locale()
        assert locale.localeconv()["decimal_point"] == ","
        after = [apportion.run(SPEC), apportion.run(TEXT)]
    finally:
        locale.setlocale(locale.LC_ALL, saved)
    assert after == before
    assert [line["cost"] for line in after[0]["lines"]] == ["20.91", "10.45"]
