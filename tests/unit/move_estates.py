"""Hand-made estates for the move options, plans and drains: a libvirt cloud, and vmwareapi over two vCenters."""

from __future__ import annotations

from dataclasses import replace

from hybridview.core.model import (
    Cluster,
    Datastore,
    Estate,
    EsxiHost,
    Instance,
    Migration,
    OpenStackSnapshot,
    Storage,
    VCenterTask,
    VirtualMachine,
)
from hybridview.core.view import EstateView
from tests.unit.factories import T0, esxi, instance, kvm_node, service, vcenter, view_of, vm, vmware_node

OTHER_UUID = "11111111-2222-3333-4444-555555555555"


def kvm_view(
    *instances: Instance,
    migrations: tuple[Migration, ...] = (),
    microversion: str | None = "2.100",
    source_state: str = "up",
    source_forced: bool = False,
    storage: Storage | None = None,
) -> EstateView:
    nodes = (
        replace(kvm_node("kvm1", state=source_state), vcpus=16, vcpus_used=4, memory_mb=32768, memory_mb_used=8192),
        replace(kvm_node("kvm2"), vcpus=16, vcpus_used=2, memory_mb=32768, memory_mb_used=4096),
        replace(kvm_node("kvm3"), vcpus=16, vcpus_used=15, memory_mb=32768, memory_mb_used=32000),
        kvm_node("kvm4", state="down"),
        kvm_node("kvm5", status="disabled"),
    )
    services = (
        service("kvm1", state=source_state, forced_down=source_forced),
        service("kvm2"),
        service("kvm3"),
        service("kvm4", state="down"),
        service("kvm5", status="disabled", reason="hardware check"),
    )
    snap = OpenStackSnapshot("c1", T0, nodes, services, instances, migrations, write_microversion=microversion)
    rules = {"c1": (("kvm*", storage),)} if storage else {}
    return view_of(Estate(openstack=(snap,), storage_rules=rules))


WEB = replace(instance("web", kvm_node("kvm1")), vcpus=2, memory_mb=4096)


def live_migration(status: str, instance_id: str = WEB.id, cloud: str = "c1") -> Migration:
    return Migration(cloud, "m1", instance_id, "live-migration", status, "kvm1", "kvm2", None, None, None, None)


def sized(host: EsxiHost, memory_used_mb: int = 8192) -> EsxiHost:
    return replace(host, memory_mb=65536, memory_used_mb=memory_used_mb, cpu_mhz=40000, cpu_used_mhz=10000)


def vmware_estate(
    *,
    host_connection: str = "connected",
    one_host: bool = False,
    host2_memory_used: int = 4096,
    tasks: tuple[VCenterTask, ...] = (),
) -> tuple[EstateView, Instance, VirtualMachine]:
    vc1_uuid = vcenter().instance_uuid
    nodes = (
        vmware_node(f"domain-c7.{vc1_uuid}", host="proxy1"),
        vmware_node(f"domain-c8.{vc1_uuid}", host="proxy2"),
        vmware_node(f"domain-c9.{OTHER_UUID}", host="proxy3"),
        kvm_node("kvm1"),
    )
    services = tuple(service(h) for h in ("proxy1", "proxy2", "proxy3", "kvm1"))
    inst = replace(instance("v1", nodes[0]), memory_mb=4096, vcpus=2)
    snap = OpenStackSnapshot("c1", T0, nodes, services, (inst,), (), write_microversion="2.100")
    hosts = [sized(esxi("host-1", connection=host_connection))]
    if not one_host:
        hosts += [sized(esxi("host-2"), host2_memory_used), sized(esxi("host-3", maintenance=True))]
    hosts.append(sized(esxi("host-8", "domain-c8")))
    machine = replace(vm("vm-1", "host-1", inst.id), memory_mb=4096, vcpus=2, datastores=("ds-1",))
    clusters = (
        Cluster("vc1", "domain-c7", "Cluster1", ha_enabled=True, drs_enabled=True, drs_behavior="manual"),
        Cluster("vc1", "domain-c8", "Cluster2", ha_enabled=True, drs_enabled=True),
    )
    datastores = (
        Datastore("vc1", "ds-1", "shared-1", True, ("host-1", "host-2", "host-3"), 10 * 2**40, 2 * 2**40),
        Datastore("vc1", "ds-2", "shared-2", True, ("host-1", "host-2"), 10 * 2**40, 5 * 2**40),
        Datastore("vc1", "ds-3", "broken", True, ("host-1",), 10 * 2**40, 5 * 2**40, accessible=False),
        Datastore("vc1", "ds-9", "elsewhere", True, ("host-8",), 10 * 2**40, 5 * 2**40),
    )
    vc1 = replace(vcenter(clusters=clusters, hosts=tuple(hosts), vms=(machine,)), datastores=datastores, tasks=tasks)
    vc2 = vcenter(
        "vc2",
        uuid=OTHER_UUID,
        clusters=(Cluster("vc2", "domain-c9", "Far", ha_enabled=True, drs_enabled=False),),
        hosts=(esxi("host-1", "domain-c9", vcenter="vc2"),),
    )
    return view_of(Estate(openstack=(snap,), vcenters=(vc1, vc2))), inst, machine
