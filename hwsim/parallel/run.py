"""One inference of a batch on ``tp * pp * ep`` devices: per-stage device simulations plus the
collectives between them, composed into system totals.

Time (forward-only GPipe schedule, which is how a pipeline serves one batch of inference: no
backward pass, so 1F1B's reordering does not apply): the ``m`` micro-batches enter stage 0 one
after another and each stage passes a micro-batch on when done, so

    latency = sum_i t_i + (m - 1) * max_i t_i,    t_i = compute_i + collectives_i + send_i

per micro-batch; with equal stages the idle share of each device is the GPipe bubble
(pp - 1) / (m + pp - 1). Collectives are not overlapped with compute (Megatron-style TP in
vLLM/TensorRT-LLM decode runs them between the GEMMs).
Energy: each device's simulated energy per micro-batch (which carries its idle power over the
compute time) x m, plus idle power for the rest of the latency (collectives and bubbles), plus
the interconnect's energy per byte over every byte that crosses a link.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hwsim.config.system import SystemConfig
from hwsim.engine.backend import backend_for
from hwsim.engine.result import Result, Total
from hwsim.errors import input_error
from hwsim.parallel.collectives import Collective, algorithm_for, collective_time_s, link_bytes
from hwsim.parallel.shard import Layout, ModelShape, layouts
from hwsim.parallel.spec import ParallelSpec
from hwsim.workload.memory import kv_cache_bytes, peak_activation_bytes
from hwsim.workload.model import Model

RunFn = Callable[[Model, Any, int], Result]
SCHEDULE = "gpipe-forward"


@dataclass(frozen=True)
class StageFit:
    weights_bytes: float
    kv_cache_bytes: float
    activation_bytes: float
    capacity_bytes: float

    @property
    def fits(self) -> bool:
        return self.weights_bytes + self.kv_cache_bytes + self.activation_bytes <= \
            self.capacity_bytes

    def to_dict(self) -> dict[str, Any]:
        need = self.weights_bytes + self.kv_cache_bytes + self.activation_bytes
        return {"weights_bytes": self.weights_bytes, "kv_cache_bytes": self.kv_cache_bytes,
                "activation_bytes": self.activation_bytes, "resident_bytes": need,
                "capacity_bytes": self.capacity_bytes, "fits": self.fits}


def device_batch(spec: ParallelSpec, batch: int) -> tuple[int, int, int]:
    """(inputs per ep group, micro-batches, inputs per micro-batch)."""
    b_dev = math.ceil(batch / spec.ep)
    m = spec.microbatches_for(b_dev)
    return b_dev, m, math.ceil(b_dev / m)


def stage_fit(layout: Layout, chip: Any, b_dev: int, mb: int) -> StageFit:
    """One device of a stage: its weights, the KV cache of all its group's sequences and the
    live activations of one micro-batch, against the chip's off-chip memory."""
    capacity = getattr(getattr(chip, "offchip", None), "size_bytes", None)
    if not capacity:
        raise input_error("parallel", f"chip {chip.name} gives no off-chip memory size to "
                          "check a parallel run's per-device fit against",
                          hint="parallel runs need a GPU or accelerator with offchip.size_bytes")
    act, _ = peak_activation_bytes(layout.model, mb)
    return StageFit(float(layout.model.weight_bytes), kv_cache_bytes(layout.model, b_dev),
                    float(act), float(capacity))


def parallel_fit(model: Model, chip: Any, spec: ParallelSpec,
                 batch: int) -> list[StageFit]:
    """Per-stage device memory fit, without simulating (claims use it to find the smallest
    tp that fits)."""
    b_dev, _, mb = device_batch(spec, batch)
    return [stage_fit(lay, chip, b_dev, mb) for lay in layouts(model, spec)]


def simulate_parallel(model: Model, chip: Any, system: SystemConfig, spec: ParallelSpec,
                      batch: int, run: RunFn, shape: ModelShape | None = None) -> Result:
    """The system-level Result of one inference; ``run(model, chip, batch)`` simulates one
    device (simulate's own single-device path, so fidelity and seed carry through).
    ``shape``: the whole model's when ``model`` is a part of it (serving's step cost)."""
    lays = layouts(model, spec, shape)  # the model's own limits first: they name the degree
    if spec.devices > system.devices:
        raise input_error("devices", f"tp*pp*ep = {spec.devices} devices, but {system.name} "
                          f"has {system.devices}", given=spec.to_dict(),
                          hint=f"use at most {system.devices} devices, or a bigger system")
    b_dev, m, mb = device_batch(spec, batch)
    fits = [stage_fit(lay, chip, b_dev, mb) for lay in lays]
    for lay, fit in zip(lays, fits, strict=True):
        if fit.weights_bytes + fit.activation_bytes > fit.capacity_bytes:
            raise input_error(
                "parallel", f"{model.name} does not fit even sharded tp={spec.tp} pp={spec.pp} "
                f"ep={spec.ep}: stage {lay.stage} needs {fit.weights_bytes / 1e9:.2f} GB of "
                f"weights + {fit.activation_bytes / 1e9:.2f} GB of activations per device with "
                f"the KV cache empty, of {fit.capacity_bytes / 1e9:.2f} GB",
                given=spec.to_dict(), hint="raise tp or pp (more devices per copy of the model)")
    ic = system.interconnect
    ran = {lay.stage: run(lay.model, chip, mb) for lay in lays if lay.model.ops}
    if not ran:
        raise input_error("parallel", f"{model.name} has no ops to run", given=spec.to_dict())
    idle = _idle_result(next(iter(ran.values())))
    stage_results = [ran.get(lay.stage, idle) for lay in lays]
    colls = [_collectives(lay, spec, ic, mb) for lay in lays]
    comm = [sum(c.time_s for c in cs) for cs in colls]  # per micro-batch, on the critical path
    t = [r.total.latency_s + c for r, c in zip(stage_results, comm, strict=True)]
    latency = sum(t) + (m - 1) * max(t)
    busy = m * sum(t)
    bubble = 1.0 - busy / (spec.pp * latency) if latency > 0 else 0.0
    static_w = backend_for(chip).static_power_w(chip)
    per_stage = spec.tp * spec.ep  # devices running each stage
    energy: dict[str, float] = {}
    for r in stage_results:
        for k, v in r.total.energy_breakdown_j.items():
            energy[k] = energy.get(k, 0.0) + v * m * per_stage
    wait = sum(latency - m * r.total.latency_s for r in stage_results)
    energy["idle_wait"] = static_w * wait * per_stage
    link_j = sum(c.energy_j * c.count * _groups(c, spec) for cs in colls for c in cs)
    energy["interconnect"] = link_j
    total = _total(stage_results, chip.clock_hz, latency, energy, m, per_stage, spec)
    ops = tuple(op for r in stage_results for op in r.ops)
    first = stage_results[0]
    report = _report(model, system, spec, lays, fits, stage_results, colls, comm, t,
                     (b_dev, m, mb, latency, bubble, spec.devices))
    inputs = dict(first.inputs) | {"model": dict(first.inputs["model"]) | {
        "name": model.name, "hash": model.content_hash}, "batch": batch,
        "parallel": spec.to_dict(), "system": system.name}
    provenance = dict(first.provenance) | {"system_sources": dict(system.sources)}
    return Result(chip=first.chip, chip_kind=first.chip_kind, model=model.name, batch=batch,
                  fidelity=first.fidelity, clock_hz=first.clock_hz, total=total, ops=ops,
                  inputs=inputs, provenance=provenance, parallel=report)


def _idle_result(like: Result) -> Result:
    """A stage with nothing to run (serving prices the head apart: only the last stage holds
    it): no time, no work; its devices' idle power is counted as waiting."""
    t = like.total
    zero = dataclasses.replace(t, cycles=0.0, compute_cycles=0.0, stall_cycles=0.0,
                               latency_s=0.0, energy_j=0.0,
                               energy_breakdown_j={k: 0.0 for k in t.energy_breakdown_j},
                               macs=0, utilization=0.0, bytes={k: 0.0 for k in t.bytes})
    return dataclasses.replace(like, total=zero, ops=())


def _collectives(lay: Layout, spec: ParallelSpec, ic: Any, mb: int) -> list[Collective]:
    """Each collective one device of this stage waits for, per micro-batch."""
    out: list[Collective] = []

    def add(where: str, kind: str, size: float, group: int) -> None:
        alg = algorithm_for(kind, ic.default_algorithm)
        cost = ic.algorithms[alg]
        time = collective_time_s(kind, size, group, alpha_s=cost.alpha_s,
                                 bus_bw_bytes_per_s=cost.bus_bw_bytes_per_s, algorithm=alg)
        out.append(Collective(where, kind, float(size), group, 1, alg, time,
                              link_bytes(kind, size, group) * ic.energy_j_per_byte))

    for where, size in lay.all_reduces:
        add(where, "all_reduce", size * mb, spec.tp)
    for where, size in lay.all_to_alls:
        add(where, "all_to_all", size * mb, spec.ep)
    for where, size in lay.all_gathers:
        add(where, "all_gather", size * mb, spec.tp)
    if lay.send_bytes:
        # each tp rank sends its 1/tp share of the hidden state to its peer in the next stage
        add(f"stage{lay.stage}->stage{lay.stage + 1}", "send_recv",
            lay.send_bytes * mb / spec.tp, 2)
    return out


def _groups(c: Collective, spec: ParallelSpec) -> int:
    """How many copies of one device's collective run at once in a stage: one per tp group
    (ep of them) for tp collectives, one per ep group (tp of them) for the all-to-all, one per
    device for stage sends."""
    return {"all_reduce": spec.ep, "all_gather": spec.ep, "all_to_all": spec.tp,
            "send_recv": spec.tp * spec.ep}.get(c.kind, 1)


def _total(rs: list[Result], clock_hz: float, latency: float, energy: dict[str, float],
           m: int, per_stage: int, spec: ParallelSpec) -> Total:
    def summed(attr: str) -> dict[str, float]:
        acc: dict[str, float] = {}
        for r in rs:
            for k, v in getattr(r.total, attr).items():
                acc[k] = acc.get(k, 0.0) + v * m * per_stage
        return acc

    cycles = latency * clock_hz
    compute = max(m * r.total.compute_cycles for r in rs)
    busy_util = sum(r.total.utilization * m * r.total.latency_s for r in rs)
    area = {k: v * spec.devices for k, v in rs[0].total.area_breakdown_mm2.items()}
    return Total(cycles=cycles, compute_cycles=compute, stall_cycles=max(0.0, cycles - compute),
                 latency_s=latency, energy_j=sum(energy.values()), energy_breakdown_j=energy,
                 macs=sum(r.total.macs * m * per_stage for r in rs),
                 utilization=busy_util / (len(rs) * latency) if latency else 0.0,
                 area_mm2=rs[0].total.area_mm2 * spec.devices, area_breakdown_mm2=area,
                 bytes=summed("bytes"), static_power_w=rs[0].total.static_power_w * spec.devices)


def _report(model: Model, system: SystemConfig, spec: ParallelSpec, lays: list[Layout],
            fits: list[StageFit], rs: list[Result], colls: list[list[Collective]],
            comm: list[float], t: list[float], run: tuple[int, int, int, float, float, int]
            ) -> dict[str, Any]:
    b_dev, m, mb, latency, bubble, devices = run
    ic = system.interconnect
    flat = [c for cs in colls for c in cs]
    by_kind: dict[str, dict[str, float]] = {}
    for c in flat:
        row = by_kind.setdefault(c.kind, {"count": 0, "time_s": 0.0, "energy_j": 0.0})
        n = m * _groups(c, spec)
        row["count"] += m
        row["time_s"] += c.time_s * m
        row["energy_j"] += c.energy_j * n
    for c_list in colls:
        for i, c in enumerate(c_list):
            c_list[i] = Collective(c.op, c.kind, c.size_bytes, c.group, m, c.algorithm,
                                   c.time_s, c.energy_j * _groups(c, spec))
    worst = max(fits, key=lambda f: f.weights_bytes + f.kv_cache_bytes + f.activation_bytes)
    return {
        "spec": spec.to_dict(), "system": system.name, "devices": devices,
        "interconnect": {"kind": ic.kind, "algorithm": ic.default_algorithm,
                         "alpha_s": ic.algorithms[ic.default_algorithm].alpha_s,
                         "bus_bw_bytes_per_s":
                             ic.algorithms[ic.default_algorithm].bus_bw_bytes_per_s,
                         "energy_j_per_byte": ic.energy_j_per_byte},
        "device_batch": b_dev, "microbatches": m, "microbatch_size": mb,
        "schedule": SCHEDULE, "bubble_fraction": bubble,
        "memory_fit": {"fits": all(f.fits for f in fits), "per_device": worst.to_dict(),
                       "unsharded_weights_bytes": float(model.weight_bytes)},
        "stages": [{"stage": lay.stage, "layers": list(lay.layers[:1] + lay.layers[-1:]),
                    "compute_latency_s": r.total.latency_s, "collective_latency_s": c,
                    "stage_latency_s": ti, "memory": f.to_dict()}
                   for lay, f, r, c, ti in zip(lays, fits, rs, comm, t, strict=True)],
        "collectives": [c.to_dict() for cs in colls for c in cs],
        "collectives_by_kind": by_kind,
        "collective_time_s": sum(v["time_s"] for v in by_kind.values()),
        "collective_energy_j": sum(v["energy_j"] for v in by_kind.values()),
        "latency_s": latency,
    }
