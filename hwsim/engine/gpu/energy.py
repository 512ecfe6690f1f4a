"""GPU power: idle + active (busy-clock) power + compute energy per FLOP + memory energy per byte.

A kernel draws

    P = idle_power_w + active_w x clock_hz / boost_clock_hz + (E_math + E_memory) / time

- ``idle_power_w`` (preset, cited): the board with nothing running.
- ``active_w``: what a GPU that is running *any* kernel draws beyond idle whatever the kernel
  does - clock tree, schedulers, uncore and interconnect switching at the core clock, and the
  leakage of a die warmed by load. It is ``active_power_fraction`` (``configs/calibration/
  gpu.yaml``) of the headroom ``tdp_w - idle_power_w``, and follows the clock (switching power at
  one voltage). A lower-power board of a die calibrated on a full-power board
  (``active_power_of``: T4, A100 and V100 PCIe) draws that board's per powered SM instead.
  This is the term a memory-bound kernel draws on top of its HBM traffic, which
  energy-per-action accounting alone misses.
- Memory energy per byte from the chip's technology table (``configs/tech``, each entry cited):
  shared memory as an SRAM of one SM's size, L2 as an SRAM of the L2's size, DRAM/HBM/GDDR/LPDDR
  per bit by memory kind.
- Math energy per FLOP is derived, not typed in: a large dense 8192^3 bf16 GEMM, costed by this
  model, draws ``tdp_w`` (idle + active + memory + math) held at its limit, because vendors
  size a board's power limit to its hungriest pipe, on data-centre parts the tensor cores' peak:
  with the default slowdown of 1 it draws exactly ``tdp_w`` at boost; a board whose sustained
  GEMMs are measured to run ``r`` times slower at its limit than in a burst at boost
  (H100/H200/B200: ``power_limit_slowdown`` in their presets) draws ``tdp_w`` at ``boost / r``
  and that clock's voltage (below), so at boost its clocked power is ``r`` times its headroom
  over the voltage ratio squared. So the per-FLOP energy absorbs only what idle, active and
  memory power leave of that power. Where an 8192^3 fp32 sgemm at that energy would
  draw more than the TDP (GeForce and Jetson parts, whose FP32 rate is high for their tensor
  rate), the sgemm is what draws that power and the tensor path keeps the per-operation ratio
  below it.

Voltage follows the clock (DVFS, :meth:`GpuEnergy.voltage_scale`): the energies above are at
``boost_clock_hz``; at clock f the supply voltage is ``V_boost x (1 - s x (1 - f / boost))``
(``s``: ``dvfs_voltage_slope``, the chip's or the fitted default), and the clocked energies per
action (tensor and CUDA-core FLOPs, shared-memory and L2 bytes) and the active power scale with
``(V / V_boost)^2`` (switching energy C V^2); DRAM energy has its own supply and does not. The
calibration GEMM held at its limit runs at ``boost / power_limit_slowdown``, so its power at
boost (the per-FLOP energy) is what puts it at the TDP at that clock and voltage.
The power limit acts as a clock throttle (:func:`throttle`) on a sustained load
(``sustained_load``, the default; a burst of a few milliseconds ends before the board's power
management lowers the clock, so with ``sustained_load: false`` nothing is throttled): a kernel
whose power at ``clock_hz`` exceeds ``tdp_w`` runs at the highest clock at which it fits, so its
clocked work (tensor, CUDA-core and L2 time) stretches while its DRAM time does not, and its
math and active power per second fall, by the clock and by the voltage squared. Other tensor
dtypes get the same math power at their own peak rate ([assumption]: each tensor pipe is sized
to the same power budget). The CUDA-core
(SIMT) path does not: each FFMA moves its three operands and its result through the register
file, where an MMA shares them over a whole tile, so a SIMT FLOP costs
:func:`hwsim.engine.gpu.path_energy.simt_to_tensor_ratio` times a tensor FLOP (per-operation
energies from the tech table). An fp32 sgemm then draws more than the TDP at full clock and is
throttled, as real power-limited parts (L4, T4) are.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hwsim.config.chip import GpuChip
from hwsim.engine.gpu.gemm_constants import GemmConstants, gemm_constants
from hwsim.engine.gpu.kernels import KernelCost, gemm_cost, tensor_peak
from hwsim.engine.gpu.path_energy import simt_to_tensor_ratio
from hwsim.engine.gpu.power_constants import GPU_CALIBRATION
from hwsim.engine.gpu.rates import native_bf16, tensor_16bit_dtype
from hwsim.errors import HwsimError, input_error
from hwsim.hardware.memo import per_object
from hwsim.hardware.tech import load_tech
from hwsim.mapping.primitives import GemmWork

ENERGY_COMPONENTS = ("tensor", "cuda", "smem", "l2", "offchip", "active", "static")
# The per-action components on the core's supply, whose energy follows the voltage (DVFS).
CLOCKED_COMPONENTS = ("tensor", "cuda", "smem", "l2")
# The calibration GEMM: big enough that tile and wave quantisation vanish (8192 = 64 tiles of 128).
CALIBRATION_GEMM = 8192


@dataclass(frozen=True)
class GpuEnergy:
    """Energies per action (J), the active power (W) and the power limits (W) of one GPU."""

    tensor_j_per_flop: float  # fp16/bf16 tensor-core FLOP at the calibration point
    math_power_w: float  # dynamic math power of the calibration GEMM
    smem_j_per_byte: float
    l2_j_per_byte: float
    dram_j_per_byte: float
    idle_w: float
    tdp_w: float  # the limit the throttle enforces: the chip's power_limit_w, else its tdp_w
    active_w: float = 0.0  # busy power beyond idle at boost_clock_hz
    boost_clock_hz: float = 1.0
    cuda_j_per_flop: float = 0.0  # SIMT FP32 FLOP: tensor_j_per_flop x path_energy's ratio
    voltage_slope: float = 0.0  # dvfs_voltage_slope: V/V_boost = 1 - slope x (1 - f/boost)
    voltage_floor: float = 0.0  # the lowest V/V_boost the curve reaches

    def voltage_scale(self, clock_hz: float) -> float:
        """(V / V_boost)^2 at ``clock_hz``: the factor on clocked energies per action."""
        return voltage_ratio(clock_hz / self.boost_clock_hz, self.voltage_slope,
                             self.voltage_floor) ** 2

    def active_power_w(self, clock_hz: float) -> float:
        """Busy power beyond idle at ``clock_hz`` (switching power follows the clock and the
        voltage squared)."""
        return (self.active_w * clock_hz / self.boost_clock_hz) * self.voltage_scale(clock_hz)

    def tensor_j(self, chip: GpuChip, dtype: str) -> float:
        """Energy per tensor FLOP of ``dtype``: the same math power at that dtype's peak."""
        calibrated = tensor_peak(chip, tensor_16bit_dtype(chip))
        return self.tensor_j_per_flop * calibrated / tensor_peak(chip, dtype)

    def cuda_j(self, chip: GpuChip) -> float:
        """Energy per CUDA-core FLOP (SIMT FFMA with its register-file operand traffic)."""
        return self.cuda_j_per_flop

    def breakdown(self, chip: GpuChip, cost: KernelCost, dtype: str) -> dict[str, float]:
        """Energy of one kernel's actions by component at boost voltage (the caller scales the
        clocked ones by :attr:`Throttled.voltage_scale` and adds active and static power, once
        it knows the kernel's clock and time)."""
        math = cost.math_dtype or dtype
        tensor_flops, cuda_flops = cost.tensor_flops, cost.cuda_flops
        if math == "bf16" and not native_bf16(chip):
            # No bf16 tensor cores: the kernel's matrix math ran on the CUDA cores at their
            # rate (rates.tensor_peak), so it costs their energy per FLOP, as the GEMM path's.
            tensor_flops, cuda_flops = 0.0, cuda_flops + tensor_flops
        return {
            "tensor": tensor_flops * self.tensor_j(chip, math),
            "cuda": cuda_flops * self.cuda_j(chip),
            "smem": cost.smem_bytes * self.smem_j_per_byte,
            "l2": cost.l2_bytes * self.l2_j_per_byte,
            "offchip": cost.dram_bytes * self.dram_j_per_byte,
        }


@dataclass(frozen=True)
class Throttled:
    """One kernel after the power limit: its time, the clock it ran at, its active energy and
    the factor on its clocked per-action energies at that clock's voltage."""

    time_s: float
    clock_hz: float
    active_j: float
    bottleneck: str
    voltage_scale: float = 1.0

    def scaled(self, parts: dict[str, float]) -> dict[str, float]:
        """``parts`` (per-action energies at boost voltage) at this kernel's clock, with its
        active energy."""
        out = {k: v * self.voltage_scale if k in CLOCKED_COMPONENTS else v
               for k, v in parts.items()}
        out["active"] = self.active_j
        return out


def voltage_ratio(clock_ratio: float, slope: float, floor: float) -> float:
    """V / V_boost at ``clock_ratio`` = f / boost: linear in the clock with ``slope``, not below
    ``floor`` (the lowest voltage the curve reaches)."""
    return max(floor, 1.0 - slope * (1.0 - clock_ratio))


def split_actions(parts: dict[str, float]) -> tuple[float, float]:
    """(clocked, unclocked) per-action energy of a breakdown, J."""
    clocked = sum(v for k, v in parts.items() if k in CLOCKED_COMPONENTS)
    return clocked, sum(parts.values()) - clocked


def power_limit_w(chip: GpuChip) -> float:
    """The limit the throttle enforces on ``chip``: its ``power_limit_w``, else its ``tdp_w``; none
    (infinite) for a burst (``sustained_load`` false), which ends before the clock drops."""
    return (chip.power_limit_w or chip.tdp_w) if chip.sustained_load else float("inf")


def kernel_power_w(energy: GpuEnergy, action_j: tuple[float, float], time_s: float,
                   clock_hz: float) -> float:
    """Average power at ``clock_hz`` of a kernel lasting ``time_s`` whose per-action energy is
    ``action_j`` = (clocked at boost voltage, unclocked) J."""
    clocked_j, unclocked_j = action_j
    return (energy.idle_w + energy.active_power_w(clock_hz)
            + (clocked_j * energy.voltage_scale(clock_hz) + unclocked_j) / time_s)


def throttle(energy: GpuEnergy, action_j: tuple[float, float], clock_hz: float, *,
             fixed_s: float, clocked_s: float, unclocked_s: float, bottleneck: str,
             serial_unclocked_s: float = 0.0) -> Throttled:
    """The power limit as a clock throttle. ``action_j``: the kernel's per-action energy,
    (clocked at boost voltage, unclocked) J (:func:`split_actions`). At clock f a kernel takes
    ``fixed_s + max((clocked_s - s) * clock_hz / f + s, unclocked_s)`` (clocked: tensor,
    CUDA-core and L2 time; ``s = serial_unclocked_s``, the part of the clocked path that waits
    on DRAM, e.g. a C-tile store after the mainloop; unclocked: DRAM time, the memory's own
    clock; fixed: launch). When its power at ``clock_hz`` exceeds ``tdp_w`` the clock drops
    (bisection: power rises with the clock and its voltage) to the highest clock at which it
    fits; the bottleneck becomes ``power``."""

    serial = min(serial_unclocked_s, clocked_s)

    def time_at(f: float) -> float:
        return fixed_s + max((clocked_s - serial) * clock_hz / f + serial, unclocked_s)

    def run(t: float, f: float, why: str) -> Throttled:
        return Throttled(t, f, energy.active_power_w(f) * t, why, energy.voltage_scale(f))

    t = time_at(clock_hz)
    if t <= 0 or kernel_power_w(energy, action_j, t, clock_hz) <= energy.tdp_w:
        return run(t, clock_hz, bottleneck)
    lo, hi = 0.0, clock_hz
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid <= 0 or mid in (lo, hi):
            break
        if kernel_power_w(energy, action_j, time_at(mid), mid) > energy.tdp_w:
            hi = mid
        else:
            lo = mid
    if lo <= 0 or clocked_s <= 0:
        # Nothing clocked to slow down (or no clock fits): stretch to the limit instead.
        budget = energy.tdp_w - energy.idle_w - energy.active_power_w(clock_hz)
        j = action_j[0] * energy.voltage_scale(clock_hz) + action_j[1]
        return run(j / budget if budget > 0 else t, clock_hz, "power")
    return run(time_at(lo), lo, "power")


# The kinds the fitted HBM3 path multiplier (hbm3_energy_scale) acts on: it was fitted on HBM3
# (H100) as the whole path's energy (device, PHY, memory controller, NoC) over the device's, and
# HBM3E keeps HBM3's interface (a faster JEDEC HBM3 part), so the same multiplier applies to
# its lower device energy [assumption].
HBM3_GENERATION = ("hbm3", "hbm3e")


MAX_CONSTANT_SETS = 64


@per_object
def _energies(chip: GpuChip) -> dict[tuple[GemmConstants, str], GpuEnergy]:
    return {}


def gpu_energy(chip: GpuChip) -> GpuEnergy:
    """Per-action energies and active power of ``chip``, calibrated to its TDP (see the module
    docstring), with the stored power constants; a power mode (``power_mode_of``) takes its
    base preset's (:func:`mode_energy`). Memoised per chip object, per GEMM constants in force
    (the calibration GEMM's cost depends on them, and a re-fit installs candidates) and per the
    content of the preset it borrows from."""
    from hwsim.hardware.chips import chip_hash  # the preset loader sits above the engine

    cache = _energies(chip)
    lenders = (_lender(chip), _active_lender(chip))
    key = (gemm_constants(), *(chip_hash(c) if c is not None else "" for c in lenders))
    energy = cache.get(key)
    if energy is None:
        if len(cache) >= MAX_CONSTANT_SETS:  # a long re-fit tries many candidates
            cache.clear()
        energy = cache[key] = _gpu_energy(chip)
    return energy


def _lender(chip: GpuChip) -> GpuChip | None:
    """The preset whose energies ``chip`` borrows (a power mode's base, else its
    ``math_energy_of``), or None."""
    if chip.power_mode_of:
        return _base_gpu(chip, "power_mode_of")
    if chip.math_energy_of:
        return _base_gpu(chip, "math_energy_of")
    return None


def _active_lender(chip: GpuChip) -> GpuChip | None:
    """The same-die preset whose active power ``chip`` draws (``active_power_of``), or None."""
    if not chip.active_power_of:
        return None
    if chip.power_mode_of:
        raise input_error(chip.name, "active_power_of cannot be set on a power mode: a mode "
                          "draws its base preset's active power per powered SM already",
                          field="active_power_of", given=chip.active_power_of,
                          hint="remove active_power_of, or power_mode_of")
    return _base_gpu(chip, "active_power_of")


def _gpu_energy(chip: GpuChip) -> GpuEnergy:
    if chip.power_mode_of:
        return mode_energy(chip)
    active_w = same_die_active_w(chip) if chip.active_power_of else None
    if chip.math_energy_of:  # its own anchor sets only memory energy; the math is the lender's
        own = calibrate_energy(chip, GPU_CALIBRATION.active_power_fraction.value,
                               GPU_CALIBRATION.hbm3_energy_scale.value)
        energy = shared_math_energy(chip, own)
        return energy if active_w is None else replace(energy, active_w=active_w)
    return calibrate_energy(chip, GPU_CALIBRATION.active_power_fraction.value,
                            GPU_CALIBRATION.hbm3_energy_scale.value, active_w=active_w)


def same_die_active_w(chip: GpuChip) -> float:
    """Active power at ``chip``'s boost clock, W, taken from the same die's full-power board
    (``active_power_of``): what any kernel draws beyond idle (clock tree, schedulers, uncore,
    the warmed die's leakage) is the silicon's, so it scales with the powered SMs and, at one
    voltage, with the clock, as a borrowed energy per FLOP is taken at each board's own boost
    clock (:func:`shared_math_energy`). A share of a lower-power board's own limit would make
    the same die cheaper to keep running on the smaller board. Power modes
    (``power_mode_of``) scale their base's already (:func:`mode_energy`)."""
    base = _base_gpu(chip, "active_power_of")
    return (gpu_energy(base).active_w * chip.sms / base.sms
            * (chip.boost_clock_hz or chip.clock_hz) / (base.boost_clock_hz or base.clock_hz))


def _base_gpu(chip: GpuChip, field: str) -> GpuChip:
    """The GPU preset a chip's ``field`` names, checked: a GPU preset that borrows nothing."""
    from hwsim.hardware.chips import load_chip  # the preset loader sits above the engine

    name = getattr(chip, field)
    try:
        base = load_chip(name)
    except HwsimError as exc:
        raise input_error(chip.name, f"{field}: {exc.summary or exc}", field=field,
                          given=name, hint="name a GPU preset (hwsim list chips) or a chip "
                          "file") from None
    if (not isinstance(base, GpuChip) or base.power_mode_of or base.math_energy_of
            or base.active_power_of):
        raise input_error(chip.name, f"{field} must name a GPU preset that neither is a power "
                          "mode nor borrows its math energy or active power", field=field,
                          given=name)
    return base


def shared_math_energy(chip: GpuChip, own: GpuEnergy) -> GpuEnergy:
    """A power-limited part's energies: its own memory, idle and active power, and the energy
    per tensor and CUDA-core FLOP of a preset on the same node (``math_energy_of``) whose board
    is sized to its tensor peak. The math power at full rate then exceeds the limit and the
    throttle finds the clock it runs at. [assumption] Same node, same energy per FLOP across SM
    generations (the MMA shape and register file are alike from Volta to Hopper)."""
    e = gpu_energy(_base_gpu(chip, "math_energy_of"))
    return replace(own, tensor_j_per_flop=e.tensor_j_per_flop,
                   cuda_j_per_flop=e.cuda_j_per_flop,
                   math_power_w=e.tensor_j_per_flop
                   * tensor_peak(chip, tensor_16bit_dtype(chip)))


def mode_energy(chip: GpuChip) -> GpuEnergy:
    """A power mode of another preset: the same silicon, so the base preset's energy per FLOP
    and per byte; active power scales with the powered SMs and (as before) with the clock; the
    mode's own idle power and limit (and its own ``offchip.energy_pj_per_byte`` when it gives
    one). Calibrating the mode on its own limit instead would give a
    down-clocked GPU a higher energy per FLOP than at full clock. The mode's lower clock runs at
    a lower voltage (the base's boost clock stays the reference of
    :meth:`GpuEnergy.voltage_scale`), with the mode's own voltage slope."""
    base = _base_gpu(chip, "power_mode_of")
    e = gpu_energy(base)
    # Same memory too, unless the mode names its own energy per DRAM byte.
    dram = (e.dram_j_per_byte if chip.offchip.energy_pj_per_byte is None
            else dram_j_per_byte(chip))
    return replace(e, idle_w=chip.idle_power_w, tdp_w=power_limit_w(chip),
                   active_w=e.active_w * chip.sms / base.sms, voltage_slope=voltage_slope(chip),
                   dram_j_per_byte=dram)


def voltage_slope(chip: GpuChip) -> float:
    """``chip``'s DVFS voltage slope: its own ``dvfs_voltage_slope``, else the fitted default."""
    if chip.dvfs_voltage_slope is not None:
        return float(chip.dvfs_voltage_slope)
    return float(GPU_CALIBRATION.dvfs_voltage_slope.value)


def voltage_floor() -> float:
    """The lowest V / V_boost of every GPU's voltage curve (``configs/calibration/gpu.yaml``)."""
    return float(GPU_CALIBRATION.dvfs_min_voltage_ratio.value)


def dram_j_per_byte(chip: GpuChip, hbm3_energy_scale: float = 1.0) -> float:
    """Energy per byte between ``chip`` and its DRAM: the chip's own ``offchip.
    energy_pj_per_byte`` when given (a measured or fitted whole-path figure), else the tech
    table's per-bit energy of its kind, times ``hbm3_energy_scale`` for the HBM3 generation."""
    if chip.offchip.energy_pj_per_byte is not None:
        return float(chip.offchip.energy_pj_per_byte) * 1e-12
    dram = float(load_tech(chip.tech).offchip_energy_j_per_byte(chip.offchip.kind))
    if chip.offchip.kind in HBM3_GENERATION:
        dram *= hbm3_energy_scale
    return dram


def calibrate_energy(chip: GpuChip, active_power_fraction: float,
                     hbm3_energy_scale: float = 1.0, *,
                     active_w: float | None = None) -> GpuEnergy:
    """:func:`gpu_energy` for given power constants (the re-fit varies them). The HBM3 scale
    multiplies the tech table's per-bit energy of the HBM3 generation (HBM3 and HBM3E) only:
    the power rows are an HBM3 GPU (H100), and HBM2/2e, GDDR and LPDDR parts have no power rows
    to scale theirs; a chip that gives its own ``offchip.energy_pj_per_byte`` takes that instead
    (:func:`dram_j_per_byte`). The DVFS voltage slope is the chip's, else the fitted one.
    ``active_w`` (W at boost) replaces the fraction's share of the headroom when the die's
    active power is known from another board (:func:`same_die_active_w`)."""
    slope = voltage_slope(chip)
    tech = load_tech(chip.tech)
    smem = float(tech.sram_read_energy_j_per_byte(max(chip.smem_bytes_per_sm, 64)))
    l2 = float(tech.sram_read_energy_j_per_byte(max(chip.l2_bytes, 64)))
    dram = dram_j_per_byte(chip, hbm3_energy_scale)
    if active_w is None:
        active_w = active_power_fraction * (chip.tdp_w - chip.idle_power_w)
    n = CALIBRATION_GEMM
    boost = chip.boost_clock_hz or chip.clock_hz
    at_boost = chip if boost == chip.clock_hz else chip.model_copy(update={"clock_hz": boost})
    # Held at its limit the calibration GEMM runs power_limit_slowdown (r) times slower, at
    # boost / r, where it draws the TDP: its DRAM power falls by r, its clocked power (active,
    # math, SRAM) by r and by the voltage squared. So at boost its clocked power is
    # (r x headroom - DRAM power) / (V / V_boost)^2 (r = 1: it just fits at boost).
    r = chip.power_limit_slowdown
    held_w = r * (chip.tdp_w - chip.idle_power_w)
    v2 = voltage_ratio(1.0 / r, slope, voltage_floor()) ** 2

    def math_j_per_flop(dtype: str, dtype_bytes: int) -> tuple[float, float, float] | None:
        """(J per FLOP that puts the dtype's calibration GEMM at the TDP, its FLOPs, its
        seconds); None when idle, active and memory power alone reach the TDP."""
        cost = gemm_cost(GemmWork(n, n, n, 1, dtype_bytes, True), at_boost, dtype)
        t = cost.time_s - cost.launch_s
        sram_w = (cost.smem_bytes * smem + cost.l2_bytes * l2) / t
        math_w = (held_w - cost.dram_bytes * dram / t) / v2 - active_w - sram_w
        if math_w <= 0:
            return None
        flops = cost.tensor_flops + cost.cuda_flops
        return math_w * t / flops, flops, t

    ratio = simt_to_tensor_ratio(chip)
    tensor = math_j_per_flop(tensor_16bit_dtype(chip), 2)
    if tensor is None:
        raise input_error(chip.name, "idle, active and memory power of a large GEMM exceed "
                          "the TDP, so no per-FLOP energy can be calibrated", field="tdp_w",
                          given=chip.tdp_w)
    tensor_j, tensor_flops, tensor_t = tensor
    # The board is sized to its hungriest pipe. Where an FP32 sgemm at the tensor-calibrated
    # energy would draw more than the TDP (consumer parts, whose FP32 rate is high for their
    # tensor rate: an RTX 4090 at 5x the H100's energy per tensor FLOP on the same node would
    # need 2.1 kW for its FP32 peak, yet runs it within 450 W), the sgemm sets the scale instead
    # and the tensor path keeps the per-operation ratio below it.
    # (An sgemm whose memory power alone reaches the TDP sets no scale: the throttle slows it.)
    simt = (math_j_per_flop("fp32", 4) if "fp32" not in chip.tensor_flops_per_clk_per_sm
            else None)
    if simt is not None:
        tensor_j = min(tensor_j, simt[0] / ratio)
    return GpuEnergy(tensor_j_per_flop=tensor_j, math_power_w=tensor_j * tensor_flops / tensor_t,
                     smem_j_per_byte=smem, l2_j_per_byte=l2, dram_j_per_byte=dram,
                     idle_w=chip.idle_power_w, tdp_w=power_limit_w(chip),
                     active_w=active_w, boost_clock_hz=boost, cuda_j_per_flop=tensor_j * ratio,
                     voltage_slope=slope, voltage_floor=voltage_floor())
