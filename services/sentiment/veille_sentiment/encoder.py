"""The sentence encoder: any transformers encoder, mean-pooled, run fast on CPU.

The same transformers loading code serves the embedded build and any Hugging Face
model id or directory (`VEILLE_MODEL`). On CPU the encoder is exported once to
ONNX and quantized to int8 (cached next to the model build); with `model_int8`
off, or on a GPU, it runs in torch. Long texts are cut into overlapping windows
(`windows.py`); windows are sorted by length and batched with dynamic padding, so
short posts never pay for a long review's padding.

The served model (the fine-tuned student, see `finetune.py`) is read as the
mean-pooled last layer; the frozen encoder of heads v1 as the last four layers
side by side. The build manifest of the model says which.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from veille_contracts.settings import VeilleSettings
from veille_sentiment.model_build import BUILD_MANIFEST, ENCODER_NAME, ensure_served_model
from veille_sentiment.windows import WINDOW_STRIDE, WINDOW_TOKENS, Windowing, combine, pad

LOGGER = logging.getLogger("veille.sentiment.encoder")
DIMENSION_UNKNOWN = -1
# A mini-batch holds at most this many tokens, padding included: many short posts go together, long
# reviews in small groups. Measured on the benchmark's length mix, 512 beat fixed groups of 16 by 1.9×.
TOKEN_BUDGET = 512
MAX_GROUP = 64


@dataclass(frozen=True)
class EncoderSource:
    """Where the encoder's transformers directory or hub id is, and what to call it."""

    location: str
    name: str
    version: str
    query_prefix: str
    embedded: bool
    pooled_layers: int = 4

    @property
    def features(self) -> str:
        """The pooling this encoder's heads were trained on, e.g. `mean-last1-layers`."""
        return f"mean-last{self.pooled_layers}-layers"


def resolve_source(settings: VeilleSettings) -> EncoderSource:
    """The configured encoder: the embedded build (built on first use), a local directory or a hub id."""
    if not settings.model:
        directory = ensure_served_model(settings)
        manifest = json.loads((directory / BUILD_MANIFEST).read_text())
        return EncoderSource(
            str(directory),
            manifest.get("name", ENCODER_NAME),
            manifest["version"],
            manifest["query_prefix"],
            True,
            int(manifest.get("pooled_layers", 4)),
        )
    location = settings.model
    path = Path(location).expanduser()
    if path.is_dir():
        location = str(path.resolve())
        version = _directory_fingerprint(path)
    else:
        version = "hub"
    name = path.name if path.is_dir() else location
    # e5 models were trained with a "query: " prefix; other encoders take the text as it is.
    prefix = "query: " if "e5" in name.lower() else ""
    manifest = path / BUILD_MANIFEST
    pooled = int(json.loads(manifest.read_text()).get("pooled_layers", 4)) if manifest.is_file() else 4
    return EncoderSource(location, name, version, prefix, False, pooled)


def _directory_fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    for item in sorted(path.iterdir()):
        if item.is_file():
            stat = item.stat()
            digest.update(f"{item.name}:{stat.st_size}:{int(stat.st_mtime)}".encode())
    return digest.hexdigest()[:12]


class Encoder(Protocol):
    """Turns texts into L2-normalized sentence embeddings, in the order given."""

    source: EncoderSource
    runtime: str

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def token_budget_groups(lengths: Sequence[int]) -> Iterator[list[int]]:
    """Indices sorted by length, cut into groups whose padded size stays within TOKEN_BUDGET."""
    group: list[int] = []
    for index in sorted(range(len(lengths)), key=lengths.__getitem__):
        if group and ((len(group) + 1) * lengths[index] > TOKEN_BUDGET or len(group) >= MAX_GROUP):
            yield group
            group = []
        group.append(index)
    if group:
        yield group


def _load_tokenizer(source: EncoderSource) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(source.location)


def _load_transformer(source: EncoderSource) -> Any:
    from transformers import AutoModel

    try:
        model = AutoModel.from_pretrained(source.location, add_pooling_layer=False)
    except TypeError:  # encoders without a pooler refuse the argument
        model = AutoModel.from_pretrained(source.location)
    return model.eval()


class _Batching:
    """Tokenizes, cuts long texts into windows, sorts windows by length and yields padded groups."""

    def __init__(self, source: EncoderSource, tokenizer: Any, max_tokens: int) -> None:
        self.source = source
        self._tokenizer = tokenizer
        prefix = (
            tokenizer(source.query_prefix.strip(), add_special_tokens=False)["input_ids"] if source.query_prefix else []
        )
        max_windows = 1 + max(0, -(-(max_tokens - WINDOW_TOKENS) // WINDOW_STRIDE))
        self.windowing = Windowing(
            tokenizer.cls_token_id, tokenizer.sep_token_id, tuple(prefix), max_windows=max_windows
        )
        self._pad = tokenizer.pad_token_id or 0

    def windows(self, texts: Sequence[str]) -> tuple[list[list[int]], list[int]]:
        """Every window of every text, and the index of the text each one belongs to."""
        ids = self._tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        windows: list[list[int]] = []
        owners: list[int] = []
        for index, row in enumerate(ids):
            cut = self.windowing.cut(row)
            windows += cut
            owners += [index] * len(cut)
        return windows, owners

    def embed_with(self, texts: Sequence[str], run: Any, mapper: Any = map) -> np.ndarray:
        """Run `run` on every padded group (through `mapper`, which may run them in parallel), in input order."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        windows, owners = self.windows(texts)
        groups = list(token_budget_groups([len(window) for window in windows]))
        inputs = [pad([windows[i] for i in members], self._pad) for members in groups]
        pooled_rows: dict[int, np.ndarray] = {}
        for members, pooled in zip(
            groups,
            mapper(lambda pair: run({"input_ids": pair[0], "attention_mask": pair[1]}), inputs),
            strict=True,
        ):
            for index, row in zip(members, np.asarray(pooled, dtype=np.float32), strict=True):
                pooled_rows[index] = row
        matrix = np.stack([pooled_rows[i] for i in range(len(windows))])
        return combine(matrix, owners, [len(window) for window in windows], len(texts))


class TorchEncoder:
    """The transformers model in torch, fp32, on the GPU when there is one."""

    def __init__(self, source: EncoderSource, max_tokens: int, threads: int) -> None:
        import torch

        if threads:
            torch.set_num_threads(threads)
        self.source = source
        self._device = "cuda" if torch.cuda.is_available() else "cpu"
        self.runtime = f"torch-fp32-{self._device}"
        self._model = _load_transformer(source).to(self._device)
        self._batching = _Batching(source, _load_tokenizer(source), max_tokens)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        def run(inputs: dict[str, np.ndarray]) -> np.ndarray:
            tensors = {name: torch.from_numpy(value).to(self._device) for name, value in inputs.items()}
            with torch.inference_mode():
                pooled = pool_layers(
                    self._model, tensors["input_ids"], tensors["attention_mask"], self.source.pooled_layers
                )
            result: np.ndarray = pooled.float().cpu().numpy()
            return result

        return self._batching.embed_with(texts, run)


class OnnxInt8Encoder:
    """The same model exported to ONNX with the pooling inside, weights quantized to int8 per channel.

    One single-threaded run per core, on different groups at once: measured 14 % faster on 2 cores
    than one run using both cores, whose threads wait on each other at every small matrix product.
    """

    def __init__(self, source: EncoderSource, cache: Path, max_tokens: int, threads: int) -> None:
        import onnxruntime

        self.source = source
        self.runtime = "onnxruntime-int8-cpu"
        model_file = quantized_model_file(source, cache)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
        self._workers = ThreadPoolExecutor(max_workers=threads or (os.cpu_count() or 1), thread_name_prefix="encoder")
        self._batching = _Batching(source, _load_tokenizer(source), max_tokens)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        def run(inputs: dict[str, np.ndarray]) -> np.ndarray:
            result: np.ndarray = self._session.run(None, inputs)[0]
            return result

        return self._batching.embed_with(texts, run, self._workers.map)


def quantized_model_file(source: EncoderSource, cache: Path) -> Path:
    """The int8 ONNX file of an encoder, exported and quantized on first use, then reused."""
    key = hashlib.sha256(f"{source.location}|{source.version}|{source.features}".encode()).hexdigest()[:16]
    target = cache.expanduser() / "onnx" / f"{Path(source.name).name}-{key}" / "encoder-int8.onnx"
    if target.is_file():
        return target
    LOGGER.info("exporting %s to ONNX int8 (once per machine)", source.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as staging:
        fp32 = Path(staging) / "encoder.onnx"
        _export_onnx(source, fp32)
        int8 = Path(staging) / target.name
        _quantize(fp32, int8)
        int8.rename(target)
    return target


def _export_onnx(source: EncoderSource, path: Path) -> None:
    import warnings

    import torch

    class Pooled(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            pooled: torch.Tensor = pool_layers(self.model, input_ids, attention_mask, source.pooled_layers)
            return pooled

    example = torch.ones(2, 8, dtype=torch.long)
    dynamic = {0: "batch", 1: "tokens"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pooled(_load_transformer(source)),
            (example, example),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={"input_ids": dynamic, "attention_mask": dynamic, "embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )


def pool_layers(model: Any, input_ids: Any, attention_mask: Any, layers: int) -> Any:
    """Each of the last `layers` layers' token states, averaged over real tokens, L2-normalised, concatenated."""
    import torch

    states = model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True).hidden_states
    mask = attention_mask.unsqueeze(-1).to(states[-1].dtype)
    means = [(layer * mask).sum(1) / mask.sum(1) for layer in states[-layers:]]
    return torch.cat([torch.nn.functional.normalize(mean, dim=-1) for mean in means], dim=-1)


def _quantize(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True)


def load_encoder(settings: VeilleSettings) -> Encoder:
    """The encoder these settings ask for: ONNX int8 on CPU, torch otherwise."""
    source = resolve_source(settings)
    if settings.model_int8 and not _has_gpu():
        return OnnxInt8Encoder(source, settings.model_cache, settings.model_max_tokens, settings.model_threads)
    return TorchEncoder(source, settings.model_max_tokens, settings.model_threads)


def _has_gpu() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def prepare(settings: VeilleSettings) -> tuple[EncoderSource, Path | None]:
    """Build what the configured encoder needs on disk (embedded build, int8 export), once per machine."""
    source = resolve_source(settings)
    exported = quantized_model_file(source, settings.model_cache) if settings.model_int8 else None
    return source, exported


if __name__ == "__main__":
    from veille_contracts.settings import load_settings

    print(prepare(load_settings()))
