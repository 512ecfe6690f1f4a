"""How often PyTorch's standalone softmax reads its input from DRAM (eager ATen kernels,
``aten/src/ATen/native/cuda/SoftMax.cu``, ``host_softmax`` over the last dim):

- rows of at most 1024 elements and 4 KB run the persistent warp softmax: the row stays in
  registers, one read;
- longer rows run one block per row; the block caches the row in shared memory
  (``cunn_SoftMaxForwardSmem``, one read) when it fits the default 48 KB per block less one
  float of reduction scratch per warp and its length is a multiple of the vector width (16
  bytes); otherwise ``cunn_SoftMaxForward`` reads it three times (max, sum of exponentials,
  normalise). PyTorch versions from before the shared-memory kernel (and its newer register
  variant, cunn_SoftMaxForwardReg) read every long row three times (chip ``softmax_smem``
  false).
"""

from __future__ import annotations

PERSISTENT_SOFTMAX_ELEMENTS = 1024
PERSISTENT_SOFTMAX_BYTES = 4096
SMEM_PER_BLOCK_BYTES = 48 * 1024
GENERIC_PASSES = 3.0
WARP = 32
MAX_BLOCK_THREADS = 1024
VECTOR_BYTES = 16


def block_threads(row_elements: int, dtype_bytes: int) -> int:
    """Threads of one block of the per-row kernels (SoftMaxForward_getBlockSize: the next power
    of two of row / ILP, ILP = 16 bytes / element, between a warp and 1024)."""
    ilp = max(1, VECTOR_BYTES // dtype_bytes)
    want = max(1, min(row_elements // ilp, MAX_BLOCK_THREADS))
    return max(WARP, 1 << (want - 1).bit_length())


def softmax_input_passes(row_elements: int | None, dtype_bytes: int,
                         smem_path: bool = True) -> float:
    """DRAM reads of the input (module docstring). An unknown row length gets the generic
    three-read kernel: nothing says the row stays on chip. ``smem_path`` false: a PyTorch
    before the shared-memory kernel (chip ``softmax_smem``), whose long rows are read three
    times."""
    if row_elements is None:
        return GENERIC_PASSES
    if (row_elements <= PERSISTENT_SOFTMAX_ELEMENTS
            and row_elements * dtype_bytes <= PERSISTENT_SOFTMAX_BYTES):
        return 1.0
    if not smem_path:
        return GENERIC_PASSES
    scratch = block_threads(row_elements, dtype_bytes) // WARP * 4
    ilp = max(1, VECTOR_BYTES // dtype_bytes)
    smem_elements = (SMEM_PER_BLOCK_BYTES - scratch) // dtype_bytes
    fits = row_elements < smem_elements and row_elements % ilp == 0
    return 1.0 if fits else GENERIC_PASSES
