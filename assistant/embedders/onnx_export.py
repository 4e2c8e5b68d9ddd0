"""Turn a local sentence-transformers folder into an ONNX file onnxruntime can run.

The export traces the transformer with its pooling and normalisation inside the graph, so a
query costs one `session.run`. It runs once per model and runtime, then the file is reused from
the cache folder. The int8 variant quantizes the MatMul weights per channel (dynamic
quantization of every op drifted to cosine 0.92 from the original; MatMul per channel stays
above 0.99, see benchmarks/embedders.py).
"""

import hashlib
import json
import logging
import os
import tempfile
import warnings
from pathlib import Path

EXPORT_VERSION = 1  # bump when the graph changes so cached files are rebuilt
log = logging.getLogger(__name__)


def pooling_mode(model_path: Path) -> str:
    """`mean` or `cls`, from the model's pooling config; other poolings are refused."""
    config_file = model_path / "1_Pooling" / "config.json"
    if not config_file.is_file():
        return "mean"  # sentence-transformers' default for a bare transformer folder
    config = json.loads(config_file.read_text())
    if config.get("pooling_mode_mean_tokens"):
        return "mean"
    if config.get("pooling_mode_cls_token"):
        return "cls"
    raise ValueError(
        f"{config_file}: only mean or CLS pooling can be exported to ONNX; "
        "set ASSISTANT_EMBEDDING_RUNTIME=torch for this model."
    )


def cached_onnx_path(model_path: Path, cache_dir: Path, *, int8: bool) -> Path:
    """The ONNX file for this model and runtime, exported (and quantized) on first use."""
    fingerprint = model_fingerprint(model_path)
    fp32 = cache_dir / f"{model_path.name}-{fingerprint}.onnx"
    if not fp32.is_file():
        export_onnx(model_path, fp32)
    if not int8:
        return fp32
    quantized = cache_dir / f"{model_path.name}-{fingerprint}.int8.onnx"
    if not quantized.is_file():
        quantize_int8(fp32, quantized)
    return quantized


def model_fingerprint(model_path: Path) -> str:
    """Changes when the weights, config or this exporter change."""
    digest = hashlib.sha256(f"export-v{EXPORT_VERSION}".encode())
    for name in ("config.json", "1_Pooling/config.json", "sentence_bert_config.json"):
        file = model_path / name
        if file.is_file():
            digest.update(file.read_bytes())
    for weights in sorted(model_path.glob("*.safetensors")) + sorted(model_path.glob("*.bin")):
        stat = weights.stat()
        digest.update(f"{weights.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def export_onnx(model_path: Path, destination: Path) -> None:
    """Trace model + pooling + L2 normalisation into `destination` (written atomically)."""
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    log.info("Exporting %s to ONNX once; cached at %s", model_path, destination)
    transformers_logging.disable_progress_bar()
    mode = pooling_mode(model_path)
    tokenizer = AutoTokenizer.from_pretrained(str(model_path))
    model = AutoModel.from_pretrained(str(model_path)).eval()

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor,
        ) -> torch.Tensor:
            hidden = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            if mode == "cls":
                pooled = hidden[:, 0]
            else:
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    sample = tokenizer(["an example question", "a second, longer example text"], padding=True)
    inputs = tuple(
        torch.tensor(sample[name]) for name in ("input_ids", "attention_mask", "token_type_ids")
    )
    names = ["input_ids", "attention_mask", "token_type_ids"]
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=destination.parent) as scratch:
        partial = Path(scratch) / destination.name
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes about Python conditionals in BERT
            torch.onnx.export(
                Pooled().eval(),
                inputs,
                str(partial),
                input_names=names,
                output_names=["embedding"],
                dynamic_axes={name: {0: "batch", 1: "tokens"} for name in names},
                opset_version=17,
                dynamo=False,  # the dynamo exporter needs onnxscript, which we do not ship
            )
        os.replace(partial, destination)  # a second process exporting at once is harmless


def quantize_int8(source: Path, destination: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(dir=destination.parent) as scratch:
        partial = Path(scratch) / destination.name
        quantize_dynamic(
            str(source),
            str(partial),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
        )
        os.replace(partial, destination)
