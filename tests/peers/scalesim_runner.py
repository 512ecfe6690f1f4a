"""Run the peer simulator SCALE-Sim v3 (PyPI ``scalesim==3.0.0``) on one layer, in a temp dir.

SCALE-Sim is configured only through files, and its wheel ships no configs, topologies or
layouts, so this driver writes all three (every config section is mandatory; a layout CSV must be
given even with custom layouts off; topology rows need a trailing comma), runs
``scalesim.scale_sim.scalesim`` with traces off and its printing swallowed, and parses
COMPUTE_REPORT.csv and DETAILED_ACCESS_REPORT.csv.

Known limits: scalesim 3.0.0 crashes on numpy >= 2.4 and is trace based, so its run time grows
with cycles x array size. :func:`require_scalesim` raises :class:`ScaleSimUnavailable` (tests turn
it into a skip) rather than letting either problem surface as a failure.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

SCALESIM_VERSION = "3.0.0"  # the version the hwsim formula and golden file were checked against
DATAFLOWS = ("os", "ws", "is")


class ScaleSimUnavailable(RuntimeError):
    """SCALE-Sim cannot run here (missing, wrong version, or numpy too new). Safe to skip on."""


@dataclass(frozen=True)
class GemmLayer:
    """A x B with A of m x k and B of k x n (SCALE-Sim's "M, N, K" topology format)."""

    m: int
    n: int
    k: int


@dataclass(frozen=True)
class ConvLayer:
    """h x w x c input, ``filters`` kernels of r x s, one stride for both axes, batch 1, no pad."""

    h: int
    w: int
    c: int
    filters: int
    r: int
    s: int
    stride: int = 1


Layer = GemmLayer | ConvLayer


@dataclass(frozen=True)
class NmSparsity:
    """SCALE-Sim's N:M weight sparsity for one layer.

    Layer-wise (``row_wise=False``): every filter column keeps the first ``n`` of each ``m``
    weights (the topology's ``N:M`` column). Row-wise (``row_wise=True``, SCALE-Sim's
    ``OptimizedMapping``, ws only): each filter column draws its own N in 1..block/2 (seeded),
    and the array stores block/2 slots per block of ``block_size``; ``n:m`` then only sets the
    metadata bits of its sparse report (give ``block_size // 2 : block_size``)."""

    n: int
    m: int
    row_wise: bool = False
    block_size: int = 8


@dataclass(frozen=True)
class ScaleSimResult:
    """One layer's numbers from SCALE-Sim's reports (cycles in array clocks, counts in words)."""

    total_cycles: int  # COMPUTE_REPORT "Total Cycles": compute + stall cycles
    total_cycles_incl_prefetch: int  # "Total Cycles (incl. prefetch)": first DRAM read..last write
    stall_cycles: int
    overall_util_pct: float
    mapping_efficiency_pct: float
    compute_util_pct: float
    sram_ifmap_reads: int  # DETAILED_ACCESS_REPORT
    sram_filter_reads: int
    sram_ofmap_writes: int
    dram_ifmap_reads: int
    dram_filter_reads: int
    dram_ofmap_writes: int
    wall_time_s: float  # SCALE-Sim construction + run only, not our file writing or parsing
    # SPARSE_REPORT (sparse runs only), in SCALE-Sim's 32-bit words: dense filter, compressed
    # filter incl. metadata, metadata alone.
    filter_original_words: float | None = None
    filter_compressed_words: float | None = None
    filter_metadata_words: float | None = None


def require_scalesim() -> ModuleType:
    """Import ``scalesim.scale_sim`` lazily; raise :class:`ScaleSimUnavailable` with the reason."""
    import numpy as np

    numpy_major_minor = tuple(int(x) for x in np.__version__.split(".")[:2])
    if numpy_major_minor >= (2, 4):
        raise ScaleSimUnavailable(
            f"scalesim {SCALESIM_VERSION} crashes on numpy {np.__version__} (needs numpy < 2.4)"
        )
    try:
        version = importlib.metadata.version("scalesim")
        from scalesim import scale_sim
    except (importlib.metadata.PackageNotFoundError, ImportError) as exc:
        raise ScaleSimUnavailable(f"scalesim is not installed ({exc})") from exc
    if version != SCALESIM_VERSION:
        raise ScaleSimUnavailable(
            f"scalesim {version} found; hwsim's formula is pinned to {SCALESIM_VERSION}"
        )
    return scale_sim


_CONFIG = """\
[general]
run_name = hwsim_peer

[architecture_presets]
ArrayHeight = {rows}
ArrayWidth = {cols}
ifmapsramszkB = {ifmap_kb}
filtersramszkB = {filter_kb}
ofmapsramszkB = {ofmap_kb}
IfmapOffset = 0
FilterOffset = 10000000
OfmapOffset = 20000000
Bandwidth = {bandwidth}
Dataflow = {dataflow}
ReadRequestBuffer = 32
WriteRequestBuffer = 32

[layout]
IfmapCustomLayout = False
IfmapSRAMBankBandwidth = 10
IfmapSRAMBankNum = 10
IfmapSRAMBankPort = 2
FilterCustomLayout = False
FilterSRAMBankBandwidth = 10
FilterSRAMBankNum = 10
FilterSRAMBankPort = 2

[sparsity]
SparsitySupport = {sparse}
SparseRep = ellpack_block
OptimizedMapping = {row_wise}
BlockSize = {block_size}
RandomNumberGeneratorSeed = 40

[run_presets]
InterfaceBandwidth = {interface}
UseRamulatorTrace = False
"""

# Read only when a custom layout is on; it must still parse: name + 20 ints (factors, orders).
_LAYOUT = (
    "Layer name,IfmapH,IfmapW,FilterH,FilterW,Channel,NumFilter,"
    "IHo,IWo,ICo,IHi,IWi,ICi,NFo,FCo,FHo,FWo,NFi,FCi,FHi,FWi,\n"
    "layer0,1,1,1,1,1,1,0,1,2,0,1,2,0,1,2,3,0,1,2,3,\n"
)


def _topology(layer: Layer, sparsity: NmSparsity | None = None) -> str:
    # Layer names must not contain "DP": SCALE-Sim splits those into per-channel layers.
    # The N:M ratio is an extra last column (SCALE-Sim assumes 1:1 when it is absent).
    ratio_head, ratio = ("", "") if sparsity is None else (
        " Sparsity,", f" {sparsity.n}:{sparsity.m},")
    if isinstance(layer, GemmLayer):
        return (f"Layer, M, N, K,{ratio_head}\n"
                f"layer0, {layer.m}, {layer.n}, {layer.k},{ratio}\n")
    return (
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels,"
        f" Num Filter, Strides,{ratio_head}\n"
        f"layer0, {layer.h}, {layer.w}, {layer.r}, {layer.s}, {layer.c}, {layer.filters},"
        f" {layer.stride},{ratio}\n"
    )


def _read_report(path: Path) -> dict[str, str]:
    header, row = path.read_text().splitlines()[:2]
    names = [x.strip() for x in header.split(",")]
    values = [x.strip() for x in row.split(",")]
    return dict(zip(names, values, strict=False))


def write_inputs(
    work: Path, layer: Layer, rows: int, cols: int, dataflow: str, *,
    ifmap_sram_kb: int = 6144, filter_sram_kb: int = 6144, ofmap_sram_kb: int = 2048,
    bandwidth_words_per_cycle: int | None = None, sparsity: NmSparsity | None = None,
) -> tuple[Path, Path, Path]:
    """Write SCALE-Sim's config, topology and layout files into ``work``; return their paths
    (arch.cfg, topology.csv, layout.csv). Arguments as in :func:`run_layer`."""
    if dataflow not in DATAFLOWS:
        raise ValueError(f"dataflow must be one of {DATAFLOWS}, got {dataflow!r}")
    config, topology, layout = work / "arch.cfg", work / "topology.csv", work / "layout.csv"
    config.write_text(_CONFIG.format(
        rows=rows, cols=cols, dataflow=dataflow, ifmap_kb=ifmap_sram_kb,
        filter_kb=filter_sram_kb, ofmap_kb=ofmap_sram_kb,
        bandwidth=bandwidth_words_per_cycle or 10,
        interface="USER" if bandwidth_words_per_cycle else "CALC",
        sparse="true" if sparsity else "false",
        row_wise="true" if sparsity and sparsity.row_wise else "false",
        block_size=sparsity.block_size if sparsity else 8))
    topology.write_text(_topology(layer, sparsity))
    layout.write_text(_LAYOUT)
    return config, topology, layout


def run_layer(
    layer: Layer, rows: int, cols: int, dataflow: str, *,
    ifmap_sram_kb: int = 6144, filter_sram_kb: int = 6144, ofmap_sram_kb: int = 2048,
    bandwidth_words_per_cycle: int | None = None, sparsity: NmSparsity | None = None,
) -> ScaleSimResult:
    """Run SCALE-Sim on ``layer`` for a ``rows`` x ``cols`` array (ArrayHeight x ArrayWidth).

    Uses ``InterfaceBandwidth: CALC`` (stall-free read buffers) unless
    ``bandwidth_words_per_cycle`` is given, which selects ``USER`` mode: DRAM delivers that many
    words per cycle and SCALE-Sim counts the stalls. Generous SRAM defaults (KB) keep the ofmap
    write buffer from ever stalling; check ``stall_cycles`` if you shrink them. ``sparsity``
    turns on SCALE-Sim's N:M weight sparsity (blocked-ELLPACK representation).
    """
    if dataflow not in DATAFLOWS:
        raise ValueError(f"dataflow must be one of {DATAFLOWS}, got {dataflow!r}")
    scale_sim = require_scalesim()
    with tempfile.TemporaryDirectory(prefix="hwsim-scalesim-") as tmp:
        work = Path(tmp)
        config, topology, layout = write_inputs(
            work, layer, rows, cols, dataflow, ifmap_sram_kb=ifmap_sram_kb,
            filter_sram_kb=filter_sram_kb, ofmap_sram_kb=ofmap_sram_kb,
            bandwidth_words_per_cycle=bandwidth_words_per_cycle, sparsity=sparsity)
        sink = io.StringIO()
        start_s = time.perf_counter()
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), \
                warnings.catch_warnings():
            # Its memory model int()s a 1-element array: a numpy DeprecationWarning per run.
            warnings.simplefilter("ignore", DeprecationWarning)
            sim = scale_sim.scalesim(
                save_disk_space=True, verbose=False, config=str(config),
                topology=str(topology), layout=str(layout),
                input_type_gemm=isinstance(layer, GemmLayer))
            sim.run_scale(top_path=str(work / "out"))
        wall_time_s = time.perf_counter() - start_s
        reports = work / "out" / "hwsim_peer"
        comp = _read_report(reports / "COMPUTE_REPORT.csv")
        acc = _read_report(reports / "DETAILED_ACCESS_REPORT.csv")
        sparse = (_read_report(reports / "SPARSE_REPORT.csv") if sparsity else {})
    return ScaleSimResult(
        total_cycles=int(comp["Total Cycles"]),
        total_cycles_incl_prefetch=int(comp["Total Cycles (incl. prefetch)"]),
        stall_cycles=int(comp["Stall Cycles"]),
        overall_util_pct=float(comp["Overall Util %"]),
        mapping_efficiency_pct=float(comp["Mapping Efficiency %"]),
        compute_util_pct=float(comp["Compute Util %"]),
        sram_ifmap_reads=int(float(acc["SRAM IFMAP Reads"])),
        sram_filter_reads=int(float(acc["SRAM Filter Reads"])),
        sram_ofmap_writes=int(float(acc["SRAM OFMAP Writes"])),
        dram_ifmap_reads=int(float(acc["DRAM IFMAP Reads"])),
        dram_filter_reads=int(float(acc["DRAM Filter Reads"])),
        dram_ofmap_writes=int(float(acc["DRAM OFMAP Writes"])),
        wall_time_s=wall_time_s,
        filter_original_words=_float_or_none(sparse, "Original Filter Storage"),
        filter_compressed_words=_float_or_none(sparse, "New Storage (Filter+Metadata)"),
        filter_metadata_words=_float_or_none(sparse, "Filter Metadata Storage"),
    )


def _float_or_none(report: dict[str, str], column: str) -> float | None:
    return float(report[column]) if column in report else None
