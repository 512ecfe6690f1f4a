"""Public request-length distributions: the Azure LLM inference trace 2023.

Source: Azure Public Dataset, "Azure LLM inference trace 2023" (files
``data/AzureLLMInferenceTrace_conv.csv``, 19,366 requests, and
``data/AzureLLMInferenceTrace_code.csv``, 8,819 requests; columns TIMESTAMP, ContextTokens,
GeneratedTokens), collected on 2023-11-11 from Azure LLM inference services and released under
CC-BY 4.0 with the paper: P. Patel, E. Choukse, C. Zhang, A. Shah, I. Goiri, S. Maleki,
R. Bianchini, "Splitwise: Efficient generative LLM inference using phase splitting", ISCA 2024.

What is stored here is derived, not the trace: the 0th..100th percentiles (numpy
``percentile(..., method="inverted_cdf")``, so every entry is an observed value) of the
prompt (ContextTokens) and output (GeneratedTokens) lengths of each file, computed from the
released CSVs. Medians: conversation prompt 1020, output 129; code prompt 1469, output 13.
A draw inverts the piecewise-linear CDF through these points; prompt and output are drawn
independently (their correlation in the trace is weak: Pearson -0.11 for conversation, 0.001
for code), so the joint structure of the trace is not kept.
"""

from __future__ import annotations

import numpy as np

SOURCE = ("Azure LLM inference trace 2023 (Azure Public Dataset, CC-BY 4.0), Patel et al., "
          "'Splitwise', ISCA 2024; 0..100th percentiles of ContextTokens/GeneratedTokens")

# name -> (prompt percentiles, output percentiles), tokens, 101 entries each (0th..100th).
PERCENTILES: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "azure-conv-2023": (
        (2, 29, 91, 161, 181, 181, 191, 197, 201, 203, 207, 212, 222, 242, 317, 372, 375, 378,
         381, 384, 387, 390, 392, 394, 395, 396, 398, 399, 400, 402, 403, 405, 406, 408, 411,
         414, 419, 424, 433, 456, 703, 863, 903, 946, 972, 984, 994, 1002, 1009, 1014, 1020,
         1025, 1031, 1036, 1041, 1045, 1050, 1055, 1060, 1065, 1071, 1076, 1081, 1086, 1092,
         1097, 1102, 1109, 1116, 1122, 1130, 1139, 1147, 1160, 1171, 1189, 1215, 1249, 1311,
         1314, 1315, 1321, 1369, 1508, 1690, 1877, 2032, 2221, 2402, 2584, 2735, 3292, 4073,
         4076, 4079, 4083, 4086, 4090, 4098, 4142, 14050),
        (7, 16, 24, 32, 38, 41, 44, 47, 49, 52, 54, 57, 59, 62, 64, 67, 69, 71, 73, 75, 77, 79,
         81, 82, 84, 85, 86, 87, 89, 90, 91, 92, 93, 94, 95, 96, 97, 99, 100, 101, 103, 105,
         107, 108, 110, 113, 116, 118, 122, 125, 129, 133, 137, 141, 145, 151, 156, 161, 163,
         169, 177, 182, 190, 202, 216, 217, 237, 371, 375, 378, 384, 387, 390, 393, 394, 395,
         396, 396, 397, 398, 400, 402, 404, 407, 410, 411, 414, 415, 417, 420, 424, 428, 429,
         433, 442, 451, 468, 509, 540, 601, 1000),
    ),
    "azure-code-2023": (
        (3, 17, 35, 50, 62, 75, 88, 97, 109, 130, 147, 162, 179, 193, 209, 232, 253, 283, 319,
         352, 385, 423, 469, 501, 539, 578, 604, 651, 698, 745, 770, 816, 848, 880, 908, 938,
         969, 997, 1027, 1049, 1075, 1105, 1133, 1174, 1205, 1261, 1296, 1346, 1377, 1417, 1469,
         1500, 1555, 1600, 1642, 1690, 1724, 1774, 1823, 1874, 1909, 1964, 2024, 2077, 2128,
         2164, 2226, 2284, 2329, 2387, 2433, 2480, 2546, 2615, 2672, 2745, 2805, 2896, 2975,
         3066, 3193, 3295, 3452, 3599, 3714, 3923, 4107, 4320, 4559, 4759, 5194, 5636, 5961,
         6194, 6585, 7315, 7431, 7435, 7436, 7436, 7437),
        (6, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9,
         9, 9, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 12, 12, 12, 12, 12, 13, 13, 13, 13,
         13, 13, 14, 14, 14, 14, 15, 15, 15, 16, 16, 16, 17, 17, 18, 18, 19, 19, 19, 20, 21, 21,
         22, 23, 24, 25, 26, 27, 28, 29, 31, 32, 34, 37, 39, 42, 45, 48, 52, 55, 60, 65, 72, 79,
         90, 105, 128, 172, 252, 1899),
    ),
}
NAMES: tuple[str, ...] = tuple(PERCENTILES)


def draw_public(name: str, which: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` lengths (tokens, int64 >= 1) from distribution ``name``; ``which`` 0 = prompt,
    1 = output. Inverse CDF through the stored percentiles, rounded to whole tokens."""
    table = np.asarray(PERCENTILES[name][which], dtype=np.float64)
    u = rng.random(n) * 100.0
    values = np.interp(u, np.arange(101, dtype=np.float64), table)
    return np.maximum(np.rint(values), 1).astype(np.int64)
