"""The server's Prometheus metrics, through prometheus_client (its multiprocess mode with several workers).

With ``--workers N`` each worker process counts for itself into ``$PROMETHEUS_MULTIPROC_DIR`` and /metrics, on
whichever worker answers, sums them all.
"""

from __future__ import annotations

import os

#: Latency buckets for a server whose single-row answers take a millisecond or two.
BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """Requests, latency, requests in flight, rows inferred, load time, warnings, refused outputs, body bytes."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.registry = CollectorRegistry()
        registry = None if self.multiprocess else self.registry  # multiprocess: values go to files, read at export
        self.requests = Counter("kit_requests", "HTTP requests by endpoint and status code.", ["endpoint", "status"],
                                registry=registry)  # fmt: skip
        self.latency = Histogram("kit_request_duration_seconds", "Time to answer a request, by endpoint.",
                                 ["endpoint"], buckets=BUCKETS, registry=registry)  # fmt: skip
        self.in_flight = Gauge("kit_requests_in_flight", "Requests being answered.", registry=registry,
                               multiprocess_mode="livesum")  # fmt: skip
        self.rows = Counter("kit_inference_rows", "Rows the model predicted.", registry=registry)
        self.warnings = Counter("kit_model_warnings", "Warnings the model's libraries raised, by category (logged "
                                "at most once a minute).", ["category"], registry=registry)  # fmt: skip
        self.nonfinite = Counter("kit_nonfinite_outputs", "Requests refused: the model gave NaN or an infinity for "
                                 "finite inputs (outside what it can take).", registry=registry)  # fmt: skip
        self.body_bytes = Gauge("kit_body_bytes_in_flight", "Bytes of request bodies being read or answered.",
                                registry=registry, multiprocess_mode="livesum")  # fmt: skip
        self.body_budget = Gauge("kit_body_bytes_budget", "The most bytes of request bodies in flight (from the "
                                 "memory limit).", registry=registry, multiprocess_mode="livesum")  # fmt: skip
        self.load_time = Gauge("kit_model_load_seconds", "Seconds the model took to load.", registry=registry,
                               multiprocess_mode="max")  # fmt: skip
        if self.multiprocess:
            from prometheus_client import multiprocess

            multiprocess.MultiProcessCollector(self.registry)

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        self.requests.labels(endpoint, str(status)).inc()
        self.latency.labels(endpoint).observe(seconds)

    def loaded(self, seconds: float) -> None:
        self.load_time.set(seconds)

    def exposition(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST
