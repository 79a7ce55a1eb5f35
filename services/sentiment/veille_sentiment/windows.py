"""Long texts as overlapping windows: how training and serving cut a mention into encoder inputs.

A mention longer than one window is cut into windows of `size` tokens (the model's prefix and
special tokens included) that overlap by `size - stride` tokens. Each window is mean-pooled and
L2-normalised, then the windows of one mention are averaged, weighted by their token counts, and
normalised again: the heads read one vector per mention, however long it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

WINDOW_TOKENS = 128
WINDOW_STRIDE = 96


@dataclass(frozen=True)
class Windowing:
    """How a tokenised text becomes windows: special tokens, prefix, size, stride and a cap."""

    cls_id: int
    sep_id: int
    prefix_ids: tuple[int, ...]
    size: int = WINDOW_TOKENS
    stride: int = WINDOW_STRIDE
    max_windows: int = 16

    def cut(self, ids: Sequence[int]) -> list[list[int]]:
        """The windows of one text's token ids (given without special tokens or prefix)."""
        body = self.size - 2 - len(self.prefix_ids)
        if body <= 0 or self.stride <= 0:
            raise ValueError(f"a window of {self.size} tokens leaves no room for text")
        windows: list[list[int]] = []
        start = 0
        while True:
            chunk = list(ids[start : start + body])
            windows.append([self.cls_id, *self.prefix_ids, *chunk, self.sep_id])
            if start + body >= len(ids) or len(windows) >= self.max_windows:
                return windows
            start += self.stride


def pad(windows: Sequence[Sequence[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Input ids and attention mask of a group of windows, padded to the longest."""
    width = max(len(window) for window in windows)
    input_ids = np.full((len(windows), width), pad_id, dtype=np.int64)
    attention_mask = np.zeros((len(windows), width), dtype=np.int64)
    for row, window in enumerate(windows):
        input_ids[row, : len(window)] = window
        attention_mask[row, : len(window)] = 1
    return input_ids, attention_mask


def combine(pooled: np.ndarray, owners: Sequence[int], weights: Sequence[int], count: int) -> np.ndarray:
    """One L2-normalised vector per text from its windows' pooled vectors, weighted by token count."""
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    rows = pooled / np.maximum(norms, 1e-12)
    total = np.zeros((count, pooled.shape[1]), dtype=np.float64)
    np.add.at(total, np.asarray(owners), rows * np.asarray(weights, dtype=np.float64)[:, None])
    lengths = np.linalg.norm(total, axis=1, keepdims=True)
    result: np.ndarray = (total / np.maximum(lengths, 1e-12)).astype(np.float32)
    return result
