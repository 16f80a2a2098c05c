"""hybridview: one window over hybrid VMware vSphere + OpenStack Nova clouds (its version: hybridview.version)."""
