"""Structural Ethos-U55/U65 cycle model of one NPU operation, following the structure of Vela
5.2.0's performance estimator (``npu_performance.py``; its block search in
``architecture_allocator.py``), written anew from that structure:

1. **Block configuration.** The output is computed in blocks; the block is the one that fits the
   shared buffer RAM (double-buffered input block + 32-bit accumulators, in 1 KiB banks and
   their granules) with the least input + weight traffic per output element
   (:func:`block_config`).
2. **MAC cycles per block** on the micro-block: each 4-cycle step fills one output micro-block
   for one kernel element and up to 32 input channels; a micro-block depth's weights take
   4 cycles per 8 channels to load, so a block with few micro-blocks is weight-load bound.
   Depthwise steps take 4 kernel elements at once; pooling one element per micro-block cycle;
   narrow inputs (<= 8 channels, or where it fills better) run "part-kernel": 4 kernel elements
   x 8 channels per step (:func:`dpu_cycles_per_block`).
3. **Output stage** per block: cycles per output element of the MAC configuration, and the
   per-block memory command (latency + one input and one output block at the memory's bandwidth
   and burst efficiency) that the 4 DPUs share; blocks pipeline, so an op takes
   ``max(mac, output) x blocks + min(mac, output)``.
4. **Memory areas**: input (re-)reads per block, output writes, weights re-read per output
   block, each on the memory holding it (SRAM port or AXI1 flash/DRAM) at its bandwidth and
   burst efficiency; weights in flash/DRAM are DMA'd into SRAM double-buffered, so the op takes
   at least their whole transfer, and the first chunk is not hidden.
5. The op takes the longest of NPU, SRAM port and AXI1 port.

Elementwise ops cost per output element at the output stage's rate; softmax is Vela's int8
decomposition (29 NPU passes: full-tensor max, exp, sums and rescales, and 21 passes on one
value per row) costed with the two fitted constants of :class:`SoftmaxConstants`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hwsim.engine.mcu.ethosu_arch import (
    IFM_BLOCK_DEPTH_MAX,
    OFM_BLOCK_MAX,
    OFM_SPLIT_DEPTH,
    SHRAM_BANK_BYTES,
    SHRAM_RESERVED_OUTPUT_BANKS,
    SUB_KERNEL_MAX,
    EthosUArch,
    MemArea,
)

Shape = tuple[int, int, int]  # height, width, channels
MAC_KINDS = ("conv", "depthwise", "fc", "avgpool", "maxpool")
ELEMENTWISE_KINDS = ("add", "mul")
BIAS_BYTES_PER_CHANNEL = 10  # Vela's encoded scale + bias per output channel (40 + 32 + 8 bits)


@dataclass(frozen=True)
class NpuLayer:
    """One NPU operation: ``kind`` in conv | depthwise | fc | avgpool | maxpool | add | mul;
    ``weight_bytes`` the encoded weight stream incl. scales and biases (0 without weights)."""

    kind: str
    ifm: Shape
    ofm: Shape
    kernel: tuple[int, int] = (1, 1)
    stride: int = 1
    weight_bytes: float = 0.0


@dataclass(frozen=True)
class Memories:
    """Where the operands live: the SRAM port and the AXI1 memory, and which holds what."""

    sram: MemArea
    axi1: MemArea
    weights_on_axi1: bool
    ifm_on_axi1: bool = False
    ofm_on_axi1: bool = False


@dataclass(frozen=True)
class Block:
    ofm: Shape
    ifm: Shape
    part_kernel: bool


@dataclass(frozen=True)
class LayerCycles:
    npu: float  # MAC/output pipeline incl. the unhidden weight DMA
    sram: float  # SRAM-port busy cycles
    axi1: float  # AXI1-port busy cycles
    sram_bytes: float
    axi1_bytes: float
    blocks: int = 1  # output blocks the op runs in
    weight_bytes: float = 0.0  # weight, scale and bias bytes read from the memory holding them

    @property
    def total(self) -> float:
        return max(self.npu, self.sram, self.axi1)


def _up(x: float, q: int) -> int:
    return int(math.ceil(x / q) * q)


def _div(x: float, q: float) -> int:
    return math.ceil(x / q)


def _ifm_rows(out: int, stride: int, kernel: int) -> int:
    return (out - 1) * stride + min(kernel, SUB_KERNEL_MAX)


def part_kernel(layer: NpuLayer) -> bool:
    """Part-kernel-first when the input is narrow, or fills the array better than depth-first
    (channels padded to 32 vs channels to 8 x kernel elements to 4)."""
    if layer.kind != "conv":
        return False
    c, kel = layer.ifm[2], layer.kernel[0] * layer.kernel[1]
    if c <= 8:
        return True
    return c * kel / (_up(c, 8) * _up(kel, 4)) > c / _up(c, 32)


def _fits(arch: EthosUArch, layer: NpuLayer, ofm: Shape, ifm: Shape) -> bool:
    """Whether the double-buffered IFM block and accumulators fit the shared buffer."""
    ew = layer.kind in ELEMENTWISE_KINDS
    ifm_banks = _up(2 * _div(ifm[0] * ifm[1] * _up(ifm[2], 8), SHRAM_BANK_BYTES),
                    arch.ifm_ew_granule if ew else arch.ifm_granule)
    free = arch.shram_banks - SHRAM_RESERVED_OUTPUT_BANKS - (2 if arch.shram_banks > 16 else 0)
    if ew:  # two inputs, no accumulators
        return 2 * ifm_banks <= free
    acc_banks = _up(2 * _div(ofm[0] * ofm[1] * _up(ofm[2], 8) * 4, SHRAM_BANK_BYTES),
                    arch.acc_granule)
    return ifm_banks + acc_banks <= free


def block_config(layer: NpuLayer, arch: EthosUArch) -> Block:
    """The output block with the least input + weight fetch per output element that fits the
    shared buffer (larger blocks win ties)."""
    uh, uw, ud = arch.ofm_ublock
    oh, ow, oc = layer.ofm
    kh, kw = layer.kernel
    s = layer.stride
    pk = part_kernel(layer)
    same_depth = layer.kind not in ("conv", "fc")
    ifm_depth = _up(min(layer.ifm[2], 16 if pk else IFM_BLOCK_DEPTH_MAX), arch.ifm_ublock[2])
    max_h = _up(min(oh, OFM_BLOCK_MAX[0]), uh)
    max_w = _up(min(ow, OFM_BLOCK_MAX[1]), uw)
    max_d = _up(min(oc, OFM_BLOCK_MAX[2]), ud)
    repeats = _div(kh, SUB_KERNEL_MAX) * _div(kw, SUB_KERNEL_MAX)
    ifm_elems = layer.ifm[0] * layer.ifm[1] * layer.ifm[2]
    best: tuple[float, Block] | None = None
    depth = max(ud, min(max_d, OFM_SPLIT_DEPTH))
    if depth < oc:
        depth = _up(depth, OFM_SPLIT_DEPTH)
    while depth <= max_d:
        for h in range(uh, max_h + 1, uh):
            for w in range(uw, max_w + 1, uw):
                ofm_blk = (1 if oh == 1 and kh == 1 and uh == 2 else h, w, depth)
                ifm_blk = (_up(_ifm_rows(h, s, kh), arch.ifm_ublock[0]),
                           _up(_ifm_rows(w, s, kw), arch.ifm_ublock[1]),
                           depth if same_depth else ifm_depth)
                if not _fits(arch, layer, ofm_blk, ifm_blk):
                    continue
                if layer.kind in ELEMENTWISE_KINDS:
                    cost = max(oh * ow * oc / (h * w * depth), 1.0)
                else:
                    blocks_xy = _div(oh, ofm_blk[0]) * _div(ow, w)
                    frac_d = oc / depth
                    weights = kh * kw * layer.ifm[2] * blocks_xy if layer.kind in (
                        "conv", "depthwise", "fc") else 0
                    if layer.kind in ("conv", "fc"):
                        weights *= depth * frac_d
                    ifm = (ifm_blk[0] * ifm_blk[1] * layer.ifm[2] * repeats
                           * (oh / ofm_blk[0]) * (ow / w))
                    if not same_depth:
                        ifm *= _div(oc, depth)
                    cost = (ifm + weights) / (oh * ow * oc)
                if ifm_elems < 2 * ifm_blk[0] * ifm_blk[1] * ifm_blk[2]:
                    cost /= 2  # the whole input fits in the two input buffers
                if best is None or cost <= best[0]:
                    best = (cost, Block(ofm_blk, ifm_blk, pk))
        depth += ud
        if depth < oc:
            depth = _up(depth, OFM_SPLIT_DEPTH)
    if best is None:
        raise ValueError(f"no Ethos-U block fits {layer}")
    return best[1]


def dpu_cycles_per_block(layer: NpuLayer, arch: EthosUArch, blk: Block) -> float:
    """MAC-array cycles of one output block (all sub-kernels and input-channel chunks)."""
    uh, uw, ud = arch.ofm_ublock
    bh, bw, bd = (min(a, b) for a, b in zip(blk.ofm, layer.ofm, strict=True))
    if (uh == 2 and layer.kind in ("conv", "depthwise", "fc") and layer.ofm[0] == 1
            and layer.ofm[1] % 2 == 0 and layer.kernel[0] == 1):
        uh, uw, bh = 1, 4, 1  # a one-row output fills a 1x4 micro-block
    n_xy = _div(bw, uw) * _div(bh, uh)
    n_z = _div(bd, ud)
    ifm_depth = min(blk.ifm[2], layer.ifm[2]) if layer.kind in ("conv", "fc") else 0
    weight_load = 4 * ud  # cycles to load one micro-block depth of weights
    kh, kw = layer.kernel
    subs = [min(kh - i, SUB_KERNEL_MAX) * min(kw - j, SUB_KERNEL_MAX)
            for i in range(0, kh, SUB_KERNEL_MAX) for j in range(0, kw, SUB_KERNEL_MAX)]
    total = 0.0
    for kel in subs:
        if layer.kind in ("avgpool", "maxpool"):
            steps, cycles = 1, max(4, kel) * n_xy * n_z
        elif layer.kind == "depthwise":
            steps = _div(kel, 4)
            cycles = max(weight_load, 4 * n_xy) * steps * n_z
        elif blk.part_kernel:
            steps = _div(kel, 4)
            cycles = max(weight_load, 4 * n_xy) * steps * _div(_up(ifm_depth, 8), 8) * n_z
        else:
            steps = kel
            cycles = max(weight_load, 4 * n_xy) * steps * n_z
        # A block of one micro-block cannot hide the accumulator turnaround (2 cycles a step).
        delay = 0
        if n_xy == 1:
            delay = 2 * steps if n_z == 1 else (2 * (steps - 1) * n_z if steps > 1 else 0)
        total += cycles + delay * (_div(_up(ifm_depth, 8), 8) if blk.part_kernel else 1)
    if layer.kind in ("conv", "fc"):
        total *= _div(layer.ifm[2], min(blk.ifm[2], _up(layer.ifm[2], 8)))
    return total / arch.cores


def burst_factor(area: MemArea, run_bytes: float) -> float:
    """Bytes a transfer occupies per byte moved when its contiguous runs are shorter than the
    memory's burst."""
    return area.burst_bytes / max(1.0, min(float(area.burst_bytes), run_bytes))


def _out_rate(layer: NpuLayer, arch: EthosUArch) -> float:
    return {"maxpool": arch.out_maxpool, "add": arch.out_add,
            "mul": arch.out_mul}.get(layer.kind, arch.out_conv)


def _block_io_cycles(layer: NpuLayer, arch: EthosUArch, blk: Block,
                     mem: Memories) -> float:
    """One input block read and one output block write, latency included."""
    ifm_a = mem.axi1 if mem.ifm_on_axi1 else mem.sram
    ofm_a = mem.axi1 if mem.ofm_on_axi1 else mem.sram
    ih, iw, ic = (min(a, b) for a, b in zip(blk.ifm, layer.ifm, strict=True))
    oh, ow, oc = (min(a, b) for a, b in zip(blk.ofm, layer.ofm, strict=True))
    ifm = (ifm_a.read_latency + ih * iw * ic * burst_factor(ifm_a, blk.ifm[2])
           / ifm_a.bytes_per_cycle)
    ofm = (ofm_a.write_latency + oh * ow * oc * burst_factor(ofm_a, _write_run(blk, arch, layer))
           / ofm_a.bytes_per_cycle)
    return ifm + ofm


def _write_run(blk: Block, arch: EthosUArch, layer: NpuLayer) -> float:
    """Contiguous bytes of one output-block write: whole rows when the block spans the output's
    depth, else one block depth (at most 16 bytes per core)."""
    if blk.ofm[2] >= layer.ofm[2]:
        return float(layer.ofm[2] * min(blk.ofm[1], layer.ofm[1]))
    return float(min(64, 16 * arch.cores, blk.ofm[2]))


def npu_cycles(layer: NpuLayer, arch: EthosUArch, blk: Block, mem: Memories) -> float:
    """MAC and output pipeline cycles of the op (no weight DMA)."""
    blocks = (_div(layer.ofm[0], blk.ofm[0]) * _div(layer.ofm[1], blk.ofm[1])
              * _div(layer.ofm[2], blk.ofm[2]))
    blk_elems = math.prod(min(a, b) for a, b in zip(blk.ofm, layer.ofm, strict=True))
    io = _block_io_cycles(layer, arch, blk, mem)
    if layer.kind in ELEMENTWISE_KINDS:
        rate = max(_out_rate(layer, arch), (io + _out_rate(layer, arch) * blk_elems) / 4
                   / blk_elems)
        return math.ceil(rate * math.prod(layer.ofm))
    dpu = dpu_cycles_per_block(layer, arch, blk)
    out = math.ceil(_out_rate(layer, arch) * blk_elems)
    if layer.weight_bytes:
        # Scales and biases are read from SRAM (weights in flash/DRAM are DMA'd there first),
        # at the SRAM's latency per 256 bytes of a block depth's 10-byte entries.
        out = max(out, BIAS_BYTES_PER_CHANNEL * min(blk.ofm[2], layer.ofm[2])
                  * mem.sram.read_latency / 256)
    cmd = (io + out + dpu) / 4
    dpu, out = max(dpu, cmd), max(out, cmd)
    return max(dpu, out) * blocks + min(dpu, out)


def layer_cycles(layer: NpuLayer, arch: EthosUArch, mem: Memories) -> LayerCycles:
    """Cycles of one NPU operation: the longest of MAC/output pipeline (plus the weight DMA it
    cannot hide), SRAM port and AXI1 port."""
    blk = block_config(layer, arch)
    npu = npu_cycles(layer, arch, blk, mem)
    oh, ow, oc = layer.ofm
    bh, bw, bd = (min(a, b) for a, b in zip(blk.ofm, layer.ofm, strict=True))
    blocks_xy = _div(oh, bh) * _div(ow, bw)
    ifm_elems = float(math.prod(layer.ifm))
    if layer.kind in ELEMENTWISE_KINDS:
        ifm_read = 2.0 * math.prod(layer.ofm)
    else:
        ih, iw = min(blk.ifm[0], layer.ifm[0]), min(blk.ifm[1], layer.ifm[1])
        subs = _div(layer.kernel[0], SUB_KERNEL_MAX) * _div(layer.kernel[1], SUB_KERNEL_MAX)
        depth_blocks = _div(oc, bd) if layer.kind in ("conv", "fc") else 1
        ifm_read = float(ih * iw * layer.ifm[2] * subs * blocks_xy * depth_blocks)
        ifm_read = max(ifm_read, ifm_elems)
    ofm_write = float(math.prod(layer.ofm))
    by_area = {"sram": 0.0, "axi1": 0.0}
    time = {"sram": 0.0, "axi1": 0.0}

    def move(on_axi1: bool, nbytes: float, factor: float) -> None:
        key = "axi1" if on_axi1 else "sram"
        area = mem.axi1 if on_axi1 else mem.sram
        by_area[key] += nbytes
        time[key] += nbytes * factor / area.bytes_per_cycle

    move(mem.ifm_on_axi1, ifm_read, 1.0)
    move(mem.ofm_on_axi1, ofm_write,
         burst_factor(mem.axi1, _write_run(blk, arch, layer)) if mem.ofm_on_axi1 else 1.0)
    weights = 0.0
    if layer.weight_bytes:
        if mem.weights_on_axi1:
            # DMA'd into an SRAM buffer: read from AXI1 once (scales and biases once more, as
            # Vela counts them), written to and read from SRAM.
            weights = layer.weight_bytes + BIAS_BYTES_PER_CHANNEL * oc
            move(True, weights, 1.0)
            by_area["sram"] += layer.weight_bytes
        else:  # read in place from SRAM, once per output block position
            weights = layer.weight_bytes * max(1, blocks_xy) + BIAS_BYTES_PER_CHANNEL * oc
            move(False, weights, 1.0)
    blocks = blocks_xy * _div(oc, bd)
    return LayerCycles(npu, time["sram"], time["axi1"], by_area["sram"], by_area["axi1"], blocks,
                       weights)


def _with_weight_dma(npu: float, layer: NpuLayer, blk: Block, src: MemArea) -> float:
    """Double-buffered weight DMA: the op lasts at least the whole transfer, and the first
    chunk (one block depth's weights) is fetched before the first block starts."""
    chunks = _div(layer.ofm[2], blk.ofm[2])
    first = _up(layer.weight_bytes / chunks, 16)
    full = layer.weight_bytes / src.bytes_per_cycle + src.read_latency
    first_cycles = first / src.bytes_per_cycle + src.read_latency
    return max(full, npu + first_cycles)
