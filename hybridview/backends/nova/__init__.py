"""The Nova backend: the only package that imports openstacksdk and keystoneauth.

``backend`` is the facade; ``session`` connects from clouds.yaml and negotiates
microversions, ``discovery`` finds why version discovery failed, ``reads`` pages the
compute API into a snapshot, ``actions`` sends the writes (bodies per microversion),
``payloads`` maps Nova JSON (no SDK), ``errors`` turns SDK failures into BackendError.
"""

from hybridview.backends.nova.backend import NovaBackend

__all__ = ["NovaBackend"]
