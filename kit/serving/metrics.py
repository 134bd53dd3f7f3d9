"""The server's Prometheus metrics, through prometheus_client (its multiprocess mode with several workers).

With ``--workers N`` each worker process counts for itself into ``$PROMETHEUS_MULTIPROC_DIR`` and /metrics, on
whichever worker answers, sums them all.
"""

from __future__ import annotations

import os

from kit.models import ranges
from kit.models.signature import Signature

#: Latency buckets for a server whose single-row answers take a millisecond or two.
BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """Requests, latency, in flight, rows, load time, warnings, refused outputs, body bytes, and the inputs.

    The inputs: rows outside the training range and rows with non-finite values, by feature (:class:`InputCounts`).
    """

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
        self.out_of_range = Counter("kit_inputs_out_of_range", "Rows answered with a feature outside its training "
                                    "range (a tensor model: any value outside its input's), by model and feature.",
                                    ["model", "feature"], registry=registry)  # fmt: skip
        self.nonfinite_inputs = Counter("kit_inputs_nonfinite", "Rows with NaN or an infinity in a feature, answered "
                                        "(a model that takes NaN) or refused (422), by model and feature.",
                                        ["model", "feature"], registry=registry)  # fmt: skip
        self.body_bytes = Gauge("kit_body_bytes_in_flight", "Bytes of request bodies being read or answered.",
                                registry=registry, multiprocess_mode="livesum")  # fmt: skip
        self.body_budget = Gauge("kit_body_bytes_budget", "The most bytes of request bodies in flight (from the "
                                 "memory limit).", registry=registry, multiprocess_mode="livesum")  # fmt: skip
        self.load_time = Gauge("kit_model_load_seconds", "Seconds the model took to load.", registry=registry,
                               multiprocess_mode="max")  # fmt: skip
        #: The children of requests and latency by (endpoint, status): a handful (the endpoints are a fixed set).
        self._observed: dict[tuple[str, int], tuple] = {}
        if self.multiprocess:
            from prometheus_client import multiprocess

            multiprocess.MultiProcessCollector(self.registry)

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        children = self._observed.get((endpoint, status))
        if children is None:  # prometheus_client's labels() takes a lock and builds a key: once per pair, not request
            children = self._observed[endpoint, status] = (self.requests.labels(endpoint, str(status)),
                                                            self.latency.labels(endpoint))  # fmt: skip
        children[0].inc()
        children[1].observe(seconds)

    def loaded(self, seconds: float) -> None:
        self.load_time.set(seconds)

    def exposition(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class InputCounts:
    """What /metrics counts of the inputs of one model's requests, per feature.

    Rows outside the training range (answered: a value outside it is still predicted), rows with NaN (answered, for
    a model that takes NaN) or an infinity or a NaN the model cannot take (refused). A model saved without its
    training data (``kit.save_model(..., training=X_train)``) has no range, so nothing is counted outside one.

    Its counters exist, at 0, from the start (a rate needs a first sample); the counting is a few vectorised NumPy
    operations on the request's array.
    """

    def __init__(self, metrics: Metrics, model: str, signature: Signature) -> None:
        names = ranges.names_of(signature)
        self.ranges = ranges.Counts.of(signature)
        self.signature = signature
        self.outside = [metrics.out_of_range.labels(model, name) for name in names] if self.ranges else []
        self.nonfinite = {name: metrics.nonfinite_inputs.labels(model, name) for name in names}
        self.names = names

    def answered(self, rows) -> None:
        """Count the rows of a request answered (the array the model predicted)."""
        if self.ranges is not None:
            outside = self.ranges.outside(rows)
            for index in () if outside is None else outside.nonzero()[0]:
                self.outside[index].inc(int(outside[index]))
        if self.signature.allow_nan:
            nan = ranges.nan_rows(self.signature, rows)
            for index in nan.nonzero()[0]:
                self.nonfinite[self.names[index]].inc(int(nan[index]))

    def refused(self, rows: dict[str, int]) -> None:
        """Count the rows of a request refused for NaN or an infinity, by input (protocol.NonFiniteInput.rows)."""
        for name, count in rows.items():
            if name in self.nonfinite:
                self.nonfinite[name].inc(count)
