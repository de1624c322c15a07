"""Prometheus metrics: request counts and latency, queue depth, job durations."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ioc_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "ioc_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.queue_depth = Gauge("ioc_queue_depth", "jobs waiting in the queue", registry=self.registry)
        self.jobs_by_status = Gauge("ioc_jobs", "jobs by status", ["status"], registry=self.registry)
        self.job_seconds = Histogram(
            "ioc_job_seconds",
            "job durations",
            ["kind"],
            registry=self.registry,
            buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 3 * 3600, 6 * 3600),
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def observe_job(self, kind: str, seconds: float) -> None:
        self.job_seconds.labels(kind).observe(seconds)

    def render(self, refresh: Callable[[Metrics], None] | None = None) -> bytes:
        if refresh is not None:
            refresh(self)
        return bytes(generate_latest(self.registry))
