#!/usr/bin/env python3
"""The performance guard's own test: it must fail on a real slowdown.

1. Its rules: reference and floor are read from README.md's table; a ratio
   just above the floor passes, just below fails, naming the check and the
   drop; the floor is 80 % of the median, or of the lowest reference run
   when noise went lower.
2. A deliberate slowdown, not committed: the page check run against the same
   server with every system call traced (`strace -f`), which makes each
   request several times slower while nginx beside it runs as usual. The
   guard must exit 1 and name the page check.

    python3 benches/guard_test.py
"""

import importlib.util
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("guard", HERE / "guard.py")
guard = importlib.util.module_from_spec(spec)
spec.loader.exec_module(guard)


def rules():
    reference = guard.read_reference(guard.README.read_text())
    assert set(reference) == set(guard.CHECKS), f"README.md's guard table names {sorted(reference)}, the guard runs {sorted(guard.CHECKS)}"
    for name, (ref, floor) in reference.items():
        assert 0 < floor < ref, f"{name}: reference {ref}, floor {floor}"
        assert guard.verdict(name, ref, floor, floor * 1.01) is None, f"{name}: a ratio just above its floor failed"
        why = guard.verdict(name, ref, floor, floor * 0.99)
        assert why is not None and why.startswith(f"{name}:") and "dropped by" in why, why
    # A steady check fails 20 % under its median; a noisy one 20 % under
    # the lowest run its reference saw.
    assert abs(guard.floor_of([1.0, 1.0, 1.0, 1.0, 1.0]) - 0.8) < 1e-9
    assert abs(guard.floor_of([0.5, 1.0, 1.0, 1.0, 1.0]) - 0.4) < 1e-9
    runs = {"page": [0.5, 0.6, 0.7, 0.6, 0.55], "search": [2.0] * 5, "writes": [0.01, 0.02, 0.015, 0.012, 0.018]}
    table = guard.table(runs)
    assert guard.read_runs(table) == runs, table
    assert guard.read_reference(table)["search"] == (2.0, 1.6), table
    print("guard_test: the guard's rules hold")


def fails_on_a_slowdown():
    cmd = [sys.executable, str(HERE / "guard.py"), "--only", "page", "--attempts", "1", "--server-wrapper", "strace -f -qq -o /dev/null"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    shown = f"exit {out.returncode}\n{out.stdout}\n{out.stderr}"
    assert out.returncode == 1, f"the guard did not fail on a server slowed by strace:\n{shown}"
    assert "FAILED page:" in out.stdout, f"the guard failed, but not naming the page check:\n{shown}"
    print("guard_test: the guard fails on a server slowed by strace:")
    print("\n".join(line for line in out.stdout.splitlines() if line.startswith("guard: page") or "FAILED" in line))


if __name__ == "__main__":
    rules()
    fails_on_a_slowdown()
