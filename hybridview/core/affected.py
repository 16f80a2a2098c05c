"""Who a problem touches: Nova instances, vSphere VMs and their projects, most instances first."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from hybridview.core.model import Instance


@dataclass(frozen=True, slots=True)
class Affected:
    instances: int = 0  # Nova instances
    vms: int = 0  # vSphere VMs, Nova's or not
    projects: tuple[str, ...] = ()  # most instances first


NOTHING = Affected()


def projects_of(instances: Iterable[Instance]) -> tuple[str, ...]:
    return ranked(i.project_id for i in instances)


def ranked(projects: Iterable[str]) -> tuple[str, ...]:
    return tuple(name for name, _ in Counter(projects).most_common())


def total(parts: Iterable[Affected]) -> Affected:
    parts = list(parts)
    projects = Counter(p for a in parts for p in a.projects)
    return Affected(sum(a.instances for a in parts), sum(a.vms for a in parts), ranked(projects.elements()))
