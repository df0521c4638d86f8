"""The package surface: __all__, the stubs of _core and the docstrings agree."""
import pathlib
import re

import apportion
from apportion import _core


def test_all_names_exist():
    assert sorted(apportion.__all__) == sorted(set(apportion.__all__))
    for name in apportion.__all__:
        assert hasattr(apportion, name), name
    assert apportion.__version__.count(".") == 2


def test_stub_declares_every_public_name_of_core():
    stub = (pathlib.Path(apportion.__file__).parent / "_core.pyi").read_text()
    declared = set(re.findall(r"^(?:class|def) (\w+)", stub, re.M))
    public = {n for n in dir(_core) if not n.startswith("_")}
    assert public == declared


def test_public_names_are_documented():
    for name in apportion.__all__:
        obj = getattr(apportion, name)
        if callable(obj):
            assert obj.__doc__ and obj.__doc__.strip(), name
    assert (pathlib.Path(apportion.__file__).parent / "py.typed").is_file()


def test_exception_hierarchy():
    for cls in (apportion.ParseError, apportion.CurrencyMismatch, apportion.PriceNotFound,
                apportion.SpecOverflowError):
        assert issubclass(cls, apportion.SpecError)
    assert issubclass(apportion.SpecError, ValueError)
    assert apportion.SpecError.__module__ == "apportion"
