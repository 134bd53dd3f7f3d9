"""What ``kit deploy`` writes for monitoring a model server: Prometheus alerting rules and a Grafana dashboard.

The rules are a plain Prometheus rule file (``promtool check rules`` accepts it; load it with ``rule_files``, or wrap
it in a PrometheusRule for the Prometheus operator); they use the server's own metrics (kit/serving/metrics.py) and,
for pods not ready, kube-state-metrics'. Thresholds are the defaults below: edit the file to change them.
"""

from __future__ import annotations

#: An alert fires after its condition held this long (one bad scrape is not an incident).
FOR = "5m"
ERROR_RATE = 0.05
P99_SECONDS = 0.1
REFUSED_RATE = 0.05
#: The share of rows with a feature (the worst one) outside its training range: drift, or a broken upstream.
OUT_OF_RANGE_RATE = 0.05
WINDOW = "5m"


def rules(name: str) -> dict:
    """The alerting rules for the model server deployed as ``name`` (its Deployment's name)."""
    selector = f'deployment="{name}"'
    infer = 'endpoint="infer"'
    total = f"sum(rate(kit_requests_total{{{infer}}}[{WINDOW}]))"

    def alert(alert: str, expr: str, summary: str, severity: str = "warning") -> dict:
        return {"alert": alert, "expr": expr, "for": FOR, "labels": {"severity": severity, "model": name},
                "annotations": {"summary": summary}}  # fmt: skip

    return {
        "groups": [
            {
                "name": f"kit-model-{name}",
                "rules": [
                    alert(
                        "KitModelErrors",
                        f'sum(rate(kit_requests_total{{{infer}, status=~"5.."}}[{WINDOW}])) / {total} > {ERROR_RATE}',
                        f"More than {ERROR_RATE:.0%} of inference requests to {name} fail with a 5xx",
                        "critical",
                    ),
                    alert(
                        "KitModelSlow",
                        f"histogram_quantile(0.99, sum by (le) (rate(kit_request_duration_seconds_bucket{{{infer}}}"
                        f"[{WINDOW}]))) > {P99_SECONDS}",
                        f"The 99th percentile of {name}'s inference latency is over {P99_SECONDS * 1000:.0f} ms",
                    ),
                    alert(
                        "KitModelInputsRefused",
                        f"sum(rate(kit_nonfinite_outputs_total[{WINDOW}])) / {total} > {REFUSED_RATE}",
                        f"More than {REFUSED_RATE:.0%} of {name}'s requests hold values outside what the model "
                        "can take (refused: the outputs would not be finite)",
                    ),
                    alert(
                        "KitModelInputsOutOfRange",
                        f"max(sum by (feature) (rate(kit_inputs_out_of_range_total[{WINDOW}]))) / "
                        f"sum(rate(kit_inference_rows_total[{WINDOW}])) > {OUT_OF_RANGE_RATE}",
                        f"More than {OUT_OF_RANGE_RATE:.0%} of the rows {name} answers have a feature outside its "
                        "training range (predicted all the same: see the dashboard for which feature)",
                    ),
                    alert(
                        "KitModelPodsNotReady",
                        f"kube_deployment_status_replicas_available{{{selector}}} < "
                        f"kube_deployment_spec_replicas{{{selector}}}",
                        f"Some of {name}'s pods are not ready",
                    ),
                ],
            }
        ]
    }


def dashboard(name: str) -> dict:
    """A Grafana dashboard (JSON model, Prometheus data source chosen at import) of the server's metrics."""
    panels = [
        ("Requests per second by status", "sum by (status) (rate(kit_requests_total{endpoint=\"infer\"}[1m]))"),
        ("Latency p99 (s)",
         "histogram_quantile(0.99, sum by (le) (rate(kit_request_duration_seconds_bucket{endpoint=\"infer\"}[1m])))"),
        ("Rows predicted per second", "sum(rate(kit_inference_rows_total[1m]))"),
        ("Requests in flight", "sum(kit_requests_in_flight)"),
        ("Refused: outputs not finite (per second)", "sum(rate(kit_nonfinite_outputs_total[1m]))"),
        ("Rows outside the training range, by feature (share of rows)",
         "sum by (feature) (rate(kit_inputs_out_of_range_total[1m]))"
         " / scalar(sum(rate(kit_inference_rows_total[1m])))"),
        ("Rows with NaN or an infinity, by feature (per second)",
         "sum by (feature) (rate(kit_inputs_nonfinite_total[1m]))"),
        ("Model warnings (per second)", "sum by (category) (rate(kit_model_warnings_total[1m]))"),
        ("Body bytes in flight / budget", "sum(kit_body_bytes_in_flight) / sum(kit_body_bytes_budget)"),
    ]  # fmt: skip
    return {
        "title": f"kit model {name}",
        "uid": f"kit-{name}"[:40],
        "schemaVersion": 39,
        "time": {"from": "now-1h", "to": "now"},
        "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus"}]},
        "panels": [
            {
                "id": index + 1,
                "type": "timeseries",
                "title": title,
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "gridPos": {"x": (index % 2) * 12, "y": (index // 2) * 8, "w": 12, "h": 8},
                "targets": [{"expr": expr, "refId": "A"}],
            }
            for index, (title, expr) in enumerate(panels)
        ],
    }
