"""Chrome trace-event JSON of a cycle-fidelity run (opens in Perfetto or chrome://tracing).

One track (thread) per engine: load, array, vector_unit, router_unit, store (accelerators), or
kernels, launch and SM lanes sm.N (GPUs; any track a timeline names gets a thread); one complete
event ("ph": "X") per tile or CTA batch, plus one slice per op on an "ops" track. Times are
microseconds of simulated time (cycles / clock), ops laid end to end as they run.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from hwsim.engine.accelerator.pipeline import ENGINES

TRACKS = ("ops", *ENGINES)


def chrome_trace(result: Any) -> dict[str, Any]:
    """The trace document for a Result made with ``fidelity="cycle", timeline=True``."""
    if not result.timelines:
        raise ValueError("the result has no timelines: simulate with fidelity='cycle' and "
                         "timeline=True")
    us_per_cycle = 1e6 / result.clock_hz
    events: list[dict[str, Any]] = [
        {"name": "process_name", "ph": "M", "pid": 1, "args": {"name": f"{result.chip}: "
                                                                f"{result.model}"}}]
    tracks = list(TRACKS)
    for tl in result.timelines.values():
        tracks += sorted({s[0] for s in tl.slices} - set(tracks), key=lambda t: (len(t), t))
    for tid, track in enumerate(tracks):
        events.append({"name": "thread_name", "ph": "M", "pid": 1, "tid": tid,
                       "args": {"name": track}})
    t0 = 0.0
    for i, op in enumerate(result.ops):
        tl = result.timelines.get(i)
        events.append({"name": op.name, "cat": op.kind, "ph": "X", "pid": 1, "tid": 0,
                       "ts": t0 * us_per_cycle, "dur": op.cycles * us_per_cycle,
                       "args": {"cycles": op.cycles, "energy_j": op.energy_j}})
        if tl is not None:
            for track, name, start, end in tl.slices:
                events.append({"name": name, "cat": track, "ph": "X", "pid": 1,
                               "tid": tracks.index(track), "ts": (t0 + start) * us_per_cycle,
                               "dur": (end - start) * us_per_cycle,
                               "args": {"op": op.name, "cycles": end - start}})
        t0 += op.cycles
    return {"traceEvents": events, "displayTimeUnit": "ns",
            "otherData": {"hwsim_version": result.to_dict()["hwsim_version"],
                          "chip": result.chip, "model": result.model,
                          "clock_hz": result.clock_hz}}


def write_chrome_trace(result: Any, path: str | Path) -> None:
    """Write the trace atomically (temp file + rename)."""
    p = Path(path)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".json")
    with os.fdopen(fd, "w") as fh:
        json.dump(chrome_trace(result), fh)
    os.replace(tmp, p)
