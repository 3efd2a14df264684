"""Print how closely the sandbox answers as the recorded Moodle 4.5 site did.

Run: ``python benchmarks/sandbox_differential.py [--workers N] [--show N]``.
Replays the 542 recorded sequences (tests/sandbox/data) against fresh sandboxes,
prints the figures (calls exact / equal after masking timestamps / different; final
states equal), the wall time, and the first ``--show`` calls that differ.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "sandbox"))

from differential import Figures, replay_all


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=8, help="sequences replayed at once")
    parser.add_argument("--show", type=int, default=10, help="differing calls to list")
    args = parser.parse_args()
    started = time.perf_counter()
    outcomes = replay_all(args.workers)
    elapsed = time.perf_counter() - started
    for line in Figures.of(outcomes).lines():
        print(line)
    print(f"wall time: {elapsed:.1f} s with {args.workers} workers")
    different = [c for o in outcomes for c in o.calls if not c.is_equal_masked]
    print("different calls by function:", dict(Counter(c.function for c in different)))
    for call in different[: args.show]:
        print(
            f"  {call.sequence} step {call.index}: {call.function} {json.dumps(call.params)[:100]}"
        )
    for outcome in outcomes:
        if not outcome.is_state_equal:
            print(f"  final state differs: {outcome.sequence}")


if __name__ == "__main__":
    main()
