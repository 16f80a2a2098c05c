"""hybridview: one window over hybrid VMware vSphere + OpenStack Nova clouds."""

__version__ = "0.1.0"
