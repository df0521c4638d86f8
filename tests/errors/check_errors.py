#!/usr/bin/env python3
"""Checks docs/errors.md, the catalogue of bad input, against the code: doc and code cannot drift.

Each entry of the catalogue is a level-3 heading followed by fenced blocks:

  ```json spec```           a spec, written to spec.json
  ```<any> file NAME```     a file written next to it (an input, a CSV, ...)
  ```sh command```          the command line to run in that folder; `apportion` is the
                            command line under test (default: `apportion run spec.json`)
  ```json capi```           instead of a command: {"spec": ..., "options": ...} given to the
                            C ABI's apn_run_json_opts through ctypes (needs --clib)
  ```text error```          the exact message expected on standard error (exit status 2)
  ```text warning```        instead of an error: the run succeeds (exit status 0) and this
                            is one of the warnings on standard error (after
                            `apportion: warning: `)

An entry with no spec, command or capi block must say `Checked by: PATH` instead: the
message must then appear verbatim in that file (a test that checks it).

usage: check_errors.py --cli PATH/apportion [--clib PATH/libapportion.so] [--doc docs/errors.md]
       [--update]   rewrite the error blocks with what the code says (for writing the doc)
"""
import argparse
import ctypes
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.M | re.S)
MIN_ENTRIES = 40


def entries(text):
    """(heading, start, end) of each level-3 section."""
    heads = [m for m in re.finditer(r"^### (.+)$", text, re.M)]
    for i, m in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        nxt = re.search(r"^## ", text[m.end():end], re.M)
        if nxt:
            end = m.end() + nxt.start()
        yield m.group(1).strip(), m.start(), end


def run_capi(clib, request):
    lib = ctypes.CDLL(clib)
    lib.apn_run_json_opts.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_size_t),
                                      ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p]
    lib.apn_run_json_opts.restype = ctypes.c_int
    lib.apn_last_error.restype = ctypes.c_char_p
    lib.apn_free.argtypes = [ctypes.c_void_p]
    spec = request["spec"] if isinstance(request["spec"], str) else json.dumps(request["spec"])
    options = request.get("options")
    options = None if options is None else (options if isinstance(options, str) else json.dumps(options)).encode()
    out = ctypes.c_void_p()
    out_len = ctypes.c_size_t()
    data = spec.encode()
    out_arg = None if request.get("out") is None and "out" in request else ctypes.byref(out)
    status = lib.apn_run_json_opts(out_arg, ctypes.byref(out_len), data, len(data), options)
    if status == 0:
        lib.apn_free(out)
        return 0, ""
    return status, lib.apn_last_error().decode()


def check_entry(title, body, args):
    """(expected, got, problem) for one entry."""
    blocks = [(info.split(), content) for info, content in FENCE.findall(body)]
    expected = [c for info, c in blocks if info[:2] == ["text", "error"]]
    warning = [c for info, c in blocks if info[:2] == ["text", "warning"]]
    if len(expected) + len(warning) != 1:
        return None, None, "needs exactly one ```text error``` or ```text warning``` block"
    expected = (expected or warning)[0].rstrip("\n")
    spec = [c for info, c in blocks if info[:2] == ["json", "spec"]]
    command = [c for info, c in blocks if info[:2] == ["sh", "command"]]
    capi = [c for info, c in blocks if info[:2] == ["json", "capi"]]
    files = [(info[2], c) for info, c in blocks if len(info) >= 3 and info[1] == "file"]
    if any(name == "spec.json" for name, _ in files):
        spec = spec or [None]  # the spec is a file block (it holds a byte written as \xNN)
    if not expected.strip() or expected.strip() == "?":
        return expected, None, "the ```text error``` block is empty"
    if not spec and not command and not capi:
        m = re.search(r"Checked by: `?([^`\s]+)`?", body)
        if not m:
            return expected, None, "has nothing to run and no `Checked by: PATH`"
        path = os.path.join(ROOT, m.group(1))
        if not os.path.isfile(path):
            return expected, None, f"Checked by names {m.group(1)}, which does not exist"
        with open(path, encoding="utf-8", errors="replace") as f:
            source = f.read()
        # The message as it stands in a C++, C or Python string literal.
        literal = expected.replace("\\", "\\\\").replace('"', '\\"')
        if expected not in source and literal not in source:
            return expected, None, f"the message does not appear in {m.group(1)}"
        return expected, expected, None
    with tempfile.TemporaryDirectory() as work:
        if spec and spec[0] is not None:
            with open(os.path.join(work, "spec.json"), "w", encoding="utf-8", newline="") as f:
                f.write(spec[0])
        for name, content in files:
            data = content.encode("utf-8")
            # \xNN in a file block stands for the byte (so invalid UTF-8 can be written).
            data = re.sub(rb"\\x([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), data)
            if name.endswith(".truncated"):
                name = name[: -len(".truncated")]
                data = data.rstrip(b"\n")
            with open(os.path.join(work, name), "wb") as f:
                f.write(data)
        if capi:
            if not args.clib:
                return expected, expected, None  # nothing to call: not checked here
            status, got = run_capi(args.clib, json.loads(capi[0]))
            if status == 0:
                return expected, got, "the call succeeded"
            return expected, got, None if got == expected else "wrong message"
        argv = shlex.split(command[0].strip()) if command else ["apportion", "run", "spec.json"]
        if argv[0] != "apportion":
            return expected, None, "a command starts with `apportion`"
        proc = subprocess.run([args.cli] + argv[1:], cwd=work, capture_output=True, timeout=60)
        got = proc.stderr.decode("utf-8", errors="backslashreplace").rstrip("\n")
        if warning:
            told = [line[len("apportion: warning: "):] for line in got.split("\n")
                    if line.startswith("apportion: warning: ")]
            if proc.returncode != 0:
                return expected, got, f"exit status {proc.returncode}, not 0"
            return expected, got if expected not in told else expected, None if expected in told else "not warned"
        if proc.returncode != 2:
            return expected, got, f"exit status {proc.returncode}, not 2"
        if proc.stdout:
            return expected, got, "printed something on standard output"
        return expected, got, None if got == expected else "wrong message"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cli", required=True)
    parser.add_argument("--clib")
    parser.add_argument("--doc", default=os.path.join(ROOT, "docs", "errors.md"))
    parser.add_argument("--update", action="store_true")
    args = parser.parse_args()
    args.cli = os.path.abspath(args.cli)
    args.clib = os.path.abspath(args.clib) if args.clib else None
    with open(args.doc, encoding="utf-8") as f:
        text = f.read()
    if args.update:  # "?": a message still to be filled in
        text = text.replace("```text error\n?\n```", "```text error\nPLACEHOLDER\n```")
    failed = 0
    count = 0
    replacements = []
    for title, start, end in entries(text):
        count += 1
        body = text[start:end]
        expected, got, problem = check_entry(title, body, args)
        if problem and not (args.update and got is not None and problem == "wrong message"):
            failed += 1
            print(f"FAIL {title}: {problem}")
            if got is not None and got != expected:
                print(f"  expected: {expected}\n  got:      {got}")
        elif args.update and got is not None and got != expected:
            block = re.search(r"```text error\n.*?```", body, re.S)
            replacements.append((start + block.start(), start + block.end(), f"```text error\n{got}\n```"))
            print(f"UPDATED {title}: {got}")
        else:
            print(f"ok   {title}")
    if replacements:
        for s, e, new in sorted(replacements, reverse=True):
            text = text[:s] + new + text[e:]
        with open(args.doc, "w", encoding="utf-8") as f:
            f.write(text)
    if count < MIN_ENTRIES:
        print(f"FAIL: {count} entries, the catalogue needs at least {MIN_ENTRIES}")
        failed += 1
    print(f"{count} entries, {count - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
