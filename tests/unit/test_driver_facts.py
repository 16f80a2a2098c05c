"""The per-driver move facts agree with Nova's support matrix, except where the driver code says otherwise.

The matrix is a copy kept in ``tests/data/nova-support-matrix`` (see its README), so a fresh
clone runs these tests; a missing copy fails them, nothing is skipped.
"""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

from hybridview.core.driver_facts import (
    ALL_DRIVERS,
    IRONIC,
    LIBVIRT_KVM,
    VMWARE,
    DriverFacts,
    Fact,
    Family,
    Operation,
    facts_for_type,
)
from hybridview.core.model import VMWARE_HYPERVISOR_TYPE

ROOT = Path(__file__).resolve().parents[2]
MATRIX = ROOT / "tests" / "data" / "nova-support-matrix" / "support-matrix.ini"
SHARED_MATRIX = ROOT.parent / "shared" / "reference" / "nova-support-matrix.ini"
SUPPORTED = frozenset({"complete", "partial"})


def _matrix() -> configparser.ConfigParser:
    assert MATRIX.is_file(), (
        f"Nova's support matrix is missing: expected {MATRIX}. Copy it unchanged from Nova's "
        "doc/source/user/support-matrix.ini (see tests/data/nova-support-matrix/README.md)."
    )
    text = MATRIX.read_text(encoding="utf-8")
    if SHARED_MATRIX.is_file():  # the copy must not drift from the shared reference
        assert text == SHARED_MATRIX.read_text(encoding="utf-8"), f"{MATRIX} differs from {SHARED_MATRIX}"
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser


FACTS = [(d, f) for d in ALL_DRIVERS for f in d.facts]


@pytest.mark.parametrize(("driver", "fact"), FACTS, ids=[f"{d.driver}:{f.operation}" for d, f in FACTS])
def test_each_fact_matches_the_matrix_or_names_the_driver_code_that_overrides_it(
    driver: DriverFacts, fact: Fact
) -> None:
    matrix = _matrix()
    assert matrix.has_section(driver.driver), f"no [{driver.driver}] in the matrix"
    assert matrix.has_section(fact.matrix_key), f"no [{fact.matrix_key}] in the matrix"
    said = matrix.get(fact.matrix_key, driver.driver)
    assert fact.matrix == said, f"{driver.driver} {fact.operation}: the matrix says {said!r}, the fact {fact.matrix!r}"
    if fact.override is None:
        assert fact.supported == (said in SUPPORTED), f"{driver.driver} {fact.operation} disagrees with the matrix"
    else:  # an override only where the matrix does not say complete/missing plainly the same way
        assert fact.supported != (said in SUPPORTED) or said == "unknown"
        assert fact.override.startswith("nova/"), "an override names the Nova source file that decides"


def test_every_driver_states_every_operation_once() -> None:
    for driver in ALL_DRIVERS:
        assert sorted(f.operation for f in driver.facts) == sorted(Operation)


def test_vmwareapi_live_migrates_within_one_vcenter_but_never_evacuates_aborts_or_force_completes() -> None:
    assert VMWARE.supports(Operation.LIVE_MIGRATE)
    assert "same vCenter" in VMWARE.fact(Operation.LIVE_MIGRATE).reason
    assert VMWARE.supports(Operation.COLD_MIGRATE) and VMWARE.supports(Operation.RESIZE)
    evacuate = VMWARE.fact(Operation.EVACUATE)
    # the matrix says "unknown"; the driver's capabilities say supports_evacuate False
    assert not evacuate.supported and evacuate.matrix == "unknown" and "ERROR" in evacuate.reason
    assert not VMWARE.supports(Operation.ABORT_LIVE_MIGRATION)
    assert not VMWARE.supports(Operation.FORCE_COMPLETE)


def test_libvirt_kvm_does_every_move() -> None:
    assert all(f.supported for f in LIBVIRT_KVM.facts)


def test_hypervisor_types_map_to_their_driver() -> None:
    assert facts_for_type("QEMU") is LIBVIRT_KVM
    assert facts_for_type("kvm") is LIBVIRT_KVM
    assert facts_for_type(VMWARE_HYPERVISOR_TYPE) is VMWARE
    assert facts_for_type("ironic") is IRONIC
    assert facts_for_type("hyperv") is None
    assert {d.family for d in ALL_DRIVERS} == set(Family)
