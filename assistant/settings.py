"""The one settings object, read from the environment and `.env` by entry points only."""

import os
import re
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# scheme://host[:port]: it lands in CORS and Content-Security-Policy headers as it is.
_ORIGIN = re.compile(r"[a-z][a-z0-9+.-]*://(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?")


class Settings(BaseSettings):
    """Everything shared/CONTRACT.md names, plus our own knobs (prefixed `ASSISTANT_`)."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default=Path("data"), description="Embedded Qdrant files and the app database."
    )
    collection: str = Field(default="assistant", description="Collection (shard) name.")

    qdrant_url: str | None = Field(
        default=None, validation_alias=AliasChoices("QDRANT_URL", "ASSISTANT_QDRANT_URL")
    )
    qdrant_api_key: str | None = Field(
        default=None, validation_alias=AliasChoices("QDRANT_API_KEY", "ASSISTANT_QDRANT_API_KEY")
    )

    reranker_path: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("RERANKER_PATH", "ASSISTANT_RERANKER_PATH"),
        description="A local cross-encoder folder: reorders retrieved chunks (off when unset).",
    )
    llm_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("LLM_BASE_URL", "ASSISTANT_LLM_BASE_URL")
    )
    llm_model: str | None = Field(
        default=None, validation_alias=AliasChoices("LLM_MODEL", "ASSISTANT_LLM_MODEL")
    )
    llm_api_key: str | None = Field(
        default=None, validation_alias=AliasChoices("LLM_API_KEY", "ASSISTANT_LLM_API_KEY")
    )
    llm_timeout_seconds: float = Field(
        default=20.0,
        gt=0,
        validation_alias=AliasChoices("LLM_TIMEOUT_SECONDS", "ASSISTANT_LLM_TIMEOUT_SECONDS"),
        description="Longest wait for the LLM endpoint before the extractive answer is shown.",
    )
    llm_max_sources: int = Field(
        default=8,
        ge=1,
        le=50,
        validation_alias=AliasChoices("LLM_MAX_SOURCES", "ASSISTANT_LLM_MAX_SOURCES"),
        description="Retrieved chunks shown to the LLM, best first. A small model on a CPU "
        "reads its prompt slowly: fewer sources answer sooner.",
    )

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "ASSISTANT_DATABASE_URL"),
        description="SQLAlchemy URL of the app database; default SQLite in the data folder.",
    )

    embedding_model_path: Path | None = Field(
        default=None,
        description="Folder of a sentence-transformers model; default: the packaged MiniLM.",
    )
    embedding_batch_size: int = Field(default=64, ge=1)
    embedding_runtime: Literal["onnx", "onnx-int8", "torch"] = Field(
        default="onnx",
        description="`onnx`: the model exported once to ONNX, same vectors as torch at less "
        "than half the CPU per question; `onnx-int8`: MatMul weights quantized (cosine >= 0.99 "
        "to the original, faster again); `torch`: sentence-transformers as shipped.",
    )
    question_embedding: Literal["int8", "float32"] = Field(
        default="int8",
        description="With the `onnx` runtime, `int8` embeds questions (not content) on the "
        "int8 copy of the model, about half the CPU per question; on the Samsung manual it "
        "puts one question's gold section below rank 5 (benchmarks/results/embedders.json). "
        "`float32` uses the content's model.",
    )
    model_cache_dir: Path = Field(
        default_factory=lambda: (
            Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ledger-assistant"
        ),
        description="Where exported ONNX models are kept between runs.",
    )
    embedder: Literal["minilm", "fake"] = Field(
        default="minilm",
        description="`fake`: FakeEmbedder (hashed words, no meaning, no model load) for tests "
        "and benchmarks of the pipeline itself; answers from such an index are not useful.",
    )

    api_keys: str = Field(
        default="", description="`key=audience[:tenant],...`; keys map callers to audiences."
    )
    api_keys_file: Path | None = None
    allow_anonymous: bool = Field(
        default=True, description="Callers without a key are `public` when true; 401 when false."
    )
    rate_limit_per_minute: int = Field(
        default=60,
        ge=0,
        description="Requests per minute to /v1/ routes per API key, or per client address "
        "for anonymous callers (a token bucket: bursts up to this many); 0 turns it off.",
    )
    max_body_bytes: int = Field(
        default=64 * 1024, ge=1024, description="Larger request bodies are refused with 413."
    )
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses or networks (`10.0.0.0/8`) of the reverse "
        "proxies in front of `assistant serve`; only a connection from one of them may set "
        "the client address with `X-Forwarded-For` (rate limits and logs use it). None by "
        "default: behind no proxy, any local process could rotate the header to escape the "
        "rate limit.",
    )
    cors_origins: str = Field(
        default="",
        description="Comma-separated origins whose pages may call the API from a browser "
        "and frame the chat page (the sites that embed widget.js), e.g. "
        "`https://help.example.com`; `*` for any; none by default.",
    )
    ingest_root: Path | None = Field(
        default=None,
        description="Folder that POST /v1/ingest (internal keys only) may read from; the "
        "route is off while unset.",
    )
    min_free_mb: int = Field(
        default=100,
        ge=0,
        description="An ingest into the embedded store refuses to start with less free disk "
        "space than this (a disk filling up mid-run crashes the engine); 0 turns it off.",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    answer_concurrency: int = Field(
        default=4,
        ge=1,
        description="How many answers (and searches) `assistant serve` computes at once; "
        "the rest wait their turn, first come first served. More than the cores only makes "
        "threads fight over them: tail latency rises while throughput does not "
        "(benchmarks/load.py).",
    )
    keep_alive_seconds: int = Field(
        default=75,
        ge=1,
        description="How long `assistant serve` keeps an idle client connection open. Longer "
        "than a proxy's idle timeout (nginx 75 s, AWS ALB 60 s): with uvicorn's 5 s, a "
        "connection could close just as a client reused it (1-3 failed requests a minute "
        "in benchmarks/load.py).",
    )
    max_connections: int = Field(
        default=1000,
        ge=1,
        description="Open client connections `assistant serve` holds; a new one beyond this "
        "closes the connection that has waited longest without a request being answered "
        "(idle, or still sending its request), so clients that hold connections cannot "
        "lock others out. The open-file limit is raised to fit when the system allows.",
    )
    max_header_bytes: int = Field(
        default=16 * 1024,
        ge=1024,
        description="A request line and headers larger than this get 431 and the connection "
        "is closed, before the rest is read.",
    )
    max_headers: int = Field(
        default=100, ge=10, description="Requests with more header fields get 431."
    )
    request_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="A request's line, headers and body must arrive within this many seconds "
        "of the connection opening (or, on a kept-alive connection, of its first byte); "
        "else 408 and the connection is closed. Answering time is not counted.",
    )

    top_k: int = Field(default=8, ge=1, le=50, description="Chunks retrieved per question.")
    refusal_threshold: float = Field(
        default=0.42,
        description="Answers below this confidence are refused (calibrated on evals/dev).",
    )
    answer_cache_size: int = Field(
        default=2048,
        ge=0,
        description="Answers kept for questions asked again (per audience, mode, tenant, "
        "version and page) until the index changes; 0 turns the cache off.",
    )
    node_cache_size: int = Field(
        default=4096,
        ge=0,
        description="Chunks the embedded store keeps ready between searches (about 17 KB "
        "each): a search then reads only ids and scores from the engine. 0 turns it off.",
    )
    answer_cache_seconds: float = Field(
        default=300.0,
        gt=0,
        description="Longest a kept answer is served: bounds how stale answers get when "
        "another process writes to a shared Qdrant server.",
    )
    retention_days: int = Field(
        default=90,
        ge=0,
        description="Logged questions, conversation turns and ratings older than this many "
        "days are deleted (at start and hourly); 0 keeps them forever.",
    )
    support_url: str | None = Field(
        default=None,
        description="Where customers reach a person on the support team (an http(s) URL): "
        'the reply to "can I talk to a human?" and the chat page\'s Contact support link it.',
    )
    resolution_window_minutes: int = Field(
        default=30,
        ge=1,
        description="A conversation with nothing new for this long has ended: the resolution "
        "report counts it (resolved when it ended on an answer nobody rated down).",
    )

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        for origin in value.split(","):
            origin = origin.strip()
            if origin and origin != "*" and not _ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"{origin!r} is not an origin: write scheme, host and optional port, "
                    "e.g. https://help.example.com or http://localhost:3000"
                )
        return value

    @field_validator("support_url")
    @classmethod
    def _support_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not re.fullmatch(r"https?://[^\s/?#]+[^\s]*", value):
            raise ValueError(
                f"{value!r} is not an http(s) URL: write the full address of the support "
                "page, e.g. https://help.example.com/contact"
            )
        return value

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def database(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{self.data_dir / 'assistant.db'}"

    @property
    def edge_path(self) -> Path:
        return self.data_dir / "qdrant-edge" / self.collection
