"""Kubernetes manifests as YAML people read and patch: plain block style, keys in the order written, no anchors.

PyYAML writes a dict that appears twice (a Deployment's labels, reused in its selector and its pods) once, with
an anchor (``&id001``), and then as an alias (``*id001``): valid YAML that surprises whoever reads or patches it.
Here every occurrence is written out.
"""

from __future__ import annotations

from typing import Any


def dump(*documents: Any) -> str:
    """``documents`` as YAML, one per resource (``---`` between them), with no anchors or aliases."""
    import yaml

    class Plain(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    return yaml.dump_all(documents, Dumper=Plain, sort_keys=False, width=120)
