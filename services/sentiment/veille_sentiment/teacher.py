"""The fine-tuned teacher as a transformers directory: the base encoder with its LoRA adapter merged.

Only `make eval` and training read it (the service serves the student); it needs `peft`, which
the `train` extra installs. Built once per machine into `model_cache`, keyed by the adapter.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from veille_contracts.settings import VeilleSettings
from veille_sentiment.encoder import EncoderSource
from veille_sentiment.heads import TEACHER_DIR
from veille_sentiment.model_build import BUILD_MANIFEST, embedded_version, ensure_embedded_model, write_model_dir

ADAPTER_FILE = "adapter_model.safetensors"


def teacher_source(settings: VeilleSettings, adapter_dir: Path = TEACHER_DIR) -> EncoderSource:
    """The merged teacher, built on first use, as an encoder source (mean-pooled last layer)."""
    adapter = adapter_dir / ADAPTER_FILE
    if not adapter.is_file():
        raise FileNotFoundError(f"no trained teacher in {adapter_dir}: run `make train`")
    digest = hashlib.sha256(adapter.read_bytes()).hexdigest()[:12]
    target = settings.model_cache.expanduser() / f"veille-e5-small-teacher-{digest}-{embedded_version()}"
    if not (target / BUILD_MANIFEST).is_file():
        _build(ensure_embedded_model(settings), adapter_dir, target, digest)
    return EncoderSource(str(target), "veille-e5-small-teacher", digest, "query: ", True, 1)


def _build(base: Path, adapter_dir: Path, target: Path, digest: str) -> None:
    from peft import PeftModel
    from transformers import AutoModel, AutoTokenizer

    model = PeftModel.from_pretrained(AutoModel.from_pretrained(base, add_pooling_layer=False), adapter_dir)
    manifest = json.loads((base / BUILD_MANIFEST).read_text())
    manifest.update(name="veille-e5-small-teacher", version=digest, pooled_layers=1)
    write_model_dir(target, model.merge_and_unload(), AutoTokenizer.from_pretrained(base), manifest)
