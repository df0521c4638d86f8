"""The C ABI (libapportion.so) through ctypes: apn_run_json gives the same document as
apportion.run(), and bad input a negative status and the same message."""
import ctypes
import json
import os

import pytest

import apportion
from test_run import SPEC


@pytest.fixture(scope="module")
def lib():
    path = os.environ.get("APPORTION_CLIB")
    if not path:
        pytest.skip("APPORTION_CLIB is not set (CTest sets it when the C library apportion_c is built)")
    lib = ctypes.CDLL(path)
    lib.apn_run_json.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_void_p),
                                 ctypes.POINTER(ctypes.c_size_t)]
    lib.apn_run_json.restype = ctypes.c_int
    lib.apn_free.argtypes = [ctypes.c_void_p]
    lib.apn_free.restype = None
    lib.apn_last_error.argtypes = []
    lib.apn_last_error.restype = ctypes.c_char_p
    return lib


def call(lib, text: str):
    data = text.encode()
    out = ctypes.c_void_p()
    out_len = ctypes.c_size_t()
    status = lib.apn_run_json(data, len(data), ctypes.byref(out), ctypes.byref(out_len))
    if status != 0:
        assert not out.value
        return status, lib.apn_last_error().decode()
    try:
        return status, ctypes.string_at(out.value, out_len.value).decode()
    finally:
        lib.apn_free(out)


def test_same_result_as_python(lib):
    status, text = call(lib, apportion.dumps(SPEC))
    assert status == 0
    assert json.loads(text) == apportion.run(SPEC)
    assert text == apportion.run_result(SPEC).to_json()


def test_bad_input(lib):
    bad = json.loads(json.dumps(SPEC))
    bad["records"][0]["measures"]["gpu_seconds"] = -5
    status, message = call(lib, json.dumps(bad))
    assert status == -3  # APN_ESPEC
    with pytest.raises(apportion.SpecError) as info:
        apportion.run(bad)
    assert message == str(info.value)
    lib.apn_free(None)  # harmless
