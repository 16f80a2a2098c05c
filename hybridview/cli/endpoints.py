"""Which endpoints a command reads: the demo, asked for, or what the config names (else $OS_CLOUD)."""

from __future__ import annotations

import argparse
import dataclasses
import os

from hybridview import config as config_mod
from hybridview.service.wiring import Endpoints, configured_endpoints, demo_endpoints
from hybridview.sim import SimSize


# The cloud `openstack` reads when none is named; ours when the settings file names no endpoint.
OS_CLOUD_ENV = "OS_CLOUD"


class NoEndpoints(Exception):
    """A headless command has nothing real to read; it never reports made-up data."""


def demo_requested(args: argparse.Namespace) -> bool:
    return bool(args.demo or args.scenario)


def demo_for(args: argparse.Namespace) -> Endpoints:
    size = SimSize.large() if args.estate_size == "large" else None
    return demo_endpoints(args.scenario or "healthy", size)


def configured_for(args: argparse.Namespace) -> Endpoints:
    """The configured endpoints; ConfigError for a bad file, NoEndpoints when it names none and no $OS_CLOUD."""
    cfg = config_mod.load(args.config)
    if not cfg.has_endpoints:
        cloud = os.environ.get(OS_CLOUD_ENV)
        if not cloud:
            raise NoEndpoints(_nothing_configured(cfg))
        # As `openstack` does: the default cloud when nothing names one; the file's other settings still apply.
        cfg = dataclasses.replace(cfg, clouds=(config_mod.CloudConfig(cloud),))
    return configured_endpoints(cfg)


def _nothing_configured(cfg: config_mod.Config) -> str:
    if cfg.path is None:
        where = f"no settings file at {config_mod.default_path()} and ${config_mod.CONFIG_ENV} is not set"
    else:
        where = f"{cfg.path} names no clouds and no vCenters"
    return (
        f"no endpoints to read: {where}, and ${OS_CLOUD_ENV} is not set"
        " (--config PATH names a file; --demo shows the built-in demo estate)"
    )
