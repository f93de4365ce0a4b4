"""Request latency and counts: what Prometheus scrapes matches what a histogram would say."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from agent_bruno.request_metrics import RequestStats


def test_latency_buckets_are_cumulative_and_a_bound_holds_its_own_value() -> None:
    stats = RequestStats((0.001, 0.01, 0.1))
    registry = CollectorRegistry()
    registry.register(stats)
    for seconds in (0.0005, 0.001, 0.05, 3.0):
        stats.observe("/v1/series", 200, seconds)
    stats.observe("/v1/series", 404, 0.002)
    text = generate_latest(registry).decode()
    for line in (
        'agent_bruno_request_duration_seconds_bucket{le="0.001",route="/v1/series"} 2.0',
        'agent_bruno_request_duration_seconds_bucket{le="0.01",route="/v1/series"} 3.0',
        'agent_bruno_request_duration_seconds_bucket{le="0.1",route="/v1/series"} 4.0',
        'agent_bruno_request_duration_seconds_bucket{le="+Inf",route="/v1/series"} 5.0',
        'agent_bruno_request_duration_seconds_count{route="/v1/series"} 5.0',
        'agent_bruno_http_requests_total{code="2xx",route="/v1/series"} 4.0',
        'agent_bruno_http_requests_total{code="4xx",route="/v1/series"} 1.0',
    ):
        assert line in text, text
    assert 'agent_bruno_request_duration_seconds_sum{route="/v1/series"} 3.05' in text
