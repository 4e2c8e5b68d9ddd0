"""Prometheus instruments for one app, in a registry of their own (so tests can run several)."""

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from assistant.answering.answer_cache import AnswerCache
from assistant.types import Answer, Mode

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._cache_collector: _AnswerCacheCollector | None = None
        self.requests = Counter(
            "assistant_http_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "assistant_http_request_duration_seconds",
            "Time from request to the last byte of the response, by route template.",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.answers = Counter(
            "assistant_answers",
            "Answers given (refusals included), by mode.",
            ["mode"],
            registry=self.registry,
        )
        self.refusals = Counter(
            "assistant_refusals",
            "Answers that refused because the evidence was too weak, by mode.",
            ["mode"],
            registry=self.registry,
        )
        self.confidence = Histogram(
            "assistant_answer_confidence",
            "Confidence of each answer (refusals included), by mode.",
            ["mode"],
            buckets=_CONFIDENCE_BUCKETS,
            registry=self.registry,
        )
        self.feedback = Counter(
            "assistant_feedback",
            "Ratings received, by rating.",
            ["rating"],
            registry=self.registry,
        )
        self.escalations = Counter(
            "assistant_escalations",
            "Requests for a person, by source: `control` (Contact support) or `asked` (in "
            "a message).",
            ["source"],
            registry=self.registry,
        )

    def watch_answer_cache(self, cache: AnswerCache) -> None:
        """Reports `cache`'s hits and misses (the last cache given, when the app restarts)."""
        if self._cache_collector is not None:
            self.registry.unregister(self._cache_collector)
        self._cache_collector = _AnswerCacheCollector(cache)
        self.registry.register(self._cache_collector)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def observe_answer(self, answer: Answer, *, mode: Mode) -> None:
        self.answers.labels(mode.value).inc()
        if answer.handover is not None:
            self.escalations.labels("asked").inc()
        if answer.refused:
            self.refusals.labels(mode.value).inc()
        self.confidence.labels(mode.value).observe(answer.confidence)


class _AnswerCacheCollector(Collector):
    """The cache counts its own hits and misses; scrapes read them."""

    def __init__(self, cache: AnswerCache) -> None:
        self.cache = cache

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "assistant_answer_cache_hits",
            "Answers served from the answer cache.",
            value=self.cache.hits,
        )
        yield CounterMetricFamily(
            "assistant_answer_cache_misses",
            "Answers computed because the cache had none (or only a stale one).",
            value=self.cache.misses,
        )
