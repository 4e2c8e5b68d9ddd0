"""GET /metrics: the Prometheus text exposition of the app's metrics."""

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import MetricsDep

router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text."}},
    summary="Prometheus metrics",
)
async def metrics(registry: MetricsDep) -> Response:
    """Requests by route and status, latency histograms, answers, refusals, answer confidence
    and feedback. Open like /healthz (no key), for scrapers on the internal network."""
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
