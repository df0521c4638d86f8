"""What the command-line tests share: the binary under test (argv[1]), running it, and
counting checks. Each check prints 'ok   NAME' or 'FAIL NAME detail'; finish() prints
'N passed, N failed' and exits 1 on any failure."""
import subprocess
import sys

BIN = sys.argv[1] if len(sys.argv) > 1 else "apportion"
failures = []
passes = []


def run(args, stdin=None, cwd=None, timeout=120):
    """Runs BIN with args: (exit status, stdout, stderr)."""
    p = subprocess.run([BIN] + args, input=stdin, capture_output=True, text=True, cwd=cwd, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def check(name, cond, detail=""):
    if cond:
        passes.append(name)
        print(f"ok   {name}")
    else:
        failures.append(name)
        print(f"FAIL {name} {detail}")


def finish():
    print(f"{len(passes)} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)
