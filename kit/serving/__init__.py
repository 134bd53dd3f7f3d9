"""Serving a run's model: over HTTP, in batches, as a model image, on Kubernetes.

:mod:`.signature` what a model takes and gives; :mod:`.model` a run's model, checked and loaded; :mod:`.protocol`
the Open Inference Protocol's requests and responses; :mod:`.app` the ASGI application (``kit serve``) and
:mod:`.server` running it (:mod:`.http` its HTTP protocol, :mod:`.limits` what bounds it); :mod:`.auth` bearer
tokens, :mod:`.audit` the audit trail, :mod:`.batching` concurrent requests predicted together; :mod:`.batch` batch
inference on files (``kit predict``); :mod:`.kubernetes` the manifests that run a model image, :mod:`.monitoring`
its alerting rules and dashboard.
"""
