"""Prometheus instruments for one app, in a registry of their own (so tests can run several)."""

from prometheus_client import CollectorRegistry, Counter, Histogram

from assistant.types import Answer, Mode

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
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

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def observe_answer(self, answer: Answer, *, mode: Mode) -> None:
        self.answers.labels(mode.value).inc()
        if answer.refused:
            self.refusals.labels(mode.value).inc()
        self.confidence.labels(mode.value).observe(answer.confidence)
