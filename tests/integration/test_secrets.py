"""No secret reaches the output: known passwords and tokens, real peers, ``-v``, failures, every file written.

Each run is the real CLI in a child process with its own HOME, XDG dirs, TMPDIR and cwd
(``tests.secret_scan.Sandbox``). Scanned: stdout, stderr (``-v``, the CLI's most verbose, sets
every logger to DEBUG: keystoneauth's requests and responses, openstacksdk, urllib3; pyVmomi has
no logging), the settings file, and every file the app wrote in the sandbox, so a log file or the
coming audit log under the user data dir is scanned with no change here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.nova_peer import nova_peer
from tests.peers.nova.fixture import NovaPeer
from tests.peers.vcsim.fixture import VcsimPeer
from tests.secret_scan import Sandbox, Secret, distinctive, encodings, find_leaks
from tests.vcenters import VCSIM_USER

__all__ = ["nova_peer"]  # the module fixture, imported for use here

OS_USER = "secrets-admin"  # an account of this module's own in the Nova peer's Keystone
VC_PASSWORD = Secret("vCenter password", distinctive("vc"), VCSIM_USER)
VC_WRONG_PASSWORD = Secret("wrong vCenter password", distinctive("vc-wrong"), VCSIM_USER)
OS_PASSWORD = Secret("Keystone password", distinctive("os"), OS_USER)
OS_WRONG_PASSWORD = Secret("wrong Keystone password", distinctive("os-wrong"), OS_USER)
# The Nova peer turns "user:project" into its stub Keystone's identity; only "admin" is an admin.
ISSUED_TOKEN = Secret("token Keystone issued", f"admin:{distinctive('os-token')}")  # what OS_USER's logins get
VIEWER_TOKEN = Secret("token without the admin role", f"viewer:{distinctive('viewer')}")
UNREACHABLE_TOKEN = Secret("token for an unreachable cloud", f"admin:{distinctive('down')}")
GIVEN_SECRETS = [
    VC_PASSWORD,
    VC_WRONG_PASSWORD,
    OS_PASSWORD,
    OS_WRONG_PASSWORD,
    ISSUED_TOKEN,
    VIEWER_TOKEN,
    UNREACHABLE_TOKEN,
]
PASSWORD_ENV = "HV_TEST_SECRET_VC_PASSWORD"
WRONG_PASSWORD_ENV = "HV_TEST_SECRET_VC_WRONG_PASSWORD"
CLI = [sys.executable, "-m", "hybridview.cli"]
if (script := Path(sys.executable).with_name("hybridview")).exists():
    CLI = [str(script)]  # the installed console script, as a user runs it
RUN_TIMEOUT = 60


@dataclass
class Stack:
    nova: NovaPeer
    vcsim: VcsimPeer
    closed_port: int  # nothing listens there: an unreachable endpoint
    known: list[Secret]  # every secret any run is given


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    sources: dict[str, str]  # what was scanned, by name

    def doc(self) -> dict[str, Any]:
        return dict(json.loads(self.stdout))


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def vcsim() -> Iterator[VcsimPeer]:
    with VcsimPeer(clusters=1, hosts=2, vms=2, username=VCSIM_USER, password=VC_PASSWORD.value) as peer:
        yield peer


@pytest.fixture(scope="module")
def stack(nova_peer: tuple[NovaPeer, Path], vcsim: VcsimPeer) -> Stack:
    nova, _clouds = nova_peer
    nova.set_keystone_account(OS_USER, OS_PASSWORD.value, token=ISSUED_TOKEN.value)
    known = [*GIVEN_SECRETS, Secret("Nova peer's static token", nova.token)]
    return Stack(nova, vcsim, _closed_port(), known)


# ---- settings: endpoints in the settings file, credentials in clouds.yaml / secure.yaml / env ----


def _token_cloud(endpoint: str) -> dict[str, Any]:
    return {
        "auth_type": "admin_token",
        "auth": {"endpoint": endpoint},
        "compute_endpoint_override": endpoint,
        "region_name": "RegionOne",
    }


def _password_cloud(stack: Stack, auth_url: str) -> dict[str, Any]:
    """OS_USER at the Keystone at ``auth_url``; the compute endpoint comes from the token's catalog."""
    return {
        "auth_type": "password",
        "auth": {
            "auth_url": auth_url,
            "username": OS_USER,
            "project_id": stack.nova.ready["project_id"],
            "user_domain_name": stack.nova.keystone["domain"],
        },
        "region_name": "RegionOne",
    }


def _clouds(stack: Stack) -> tuple[dict[str, Any], dict[str, Any]]:
    """clouds.yaml without a secret, and secure.yaml with all of them (as the openstack CLI splits them)."""
    down = f"http://127.0.0.1:{stack.closed_port}"
    keystone = stack.nova.keystone["auth_url"]
    public = {
        "nova-token": _token_cloud(stack.nova.endpoint),
        "nova-password": _password_cloud(stack, keystone),
        "nova-wrong-password": _password_cloud(stack, keystone),
        "nova-viewer": _token_cloud(stack.nova.endpoint),
        "nova-down": _token_cloud(f"{down}/v2.1"),
        "keystone-down": _password_cloud(stack, f"{down}/identity/v3"),
    }
    secure = {
        "nova-token": {"auth": {"token": stack.nova.token}},
        "nova-password": {"auth": {"password": OS_PASSWORD.value}},
        "nova-wrong-password": {"auth": {"password": OS_WRONG_PASSWORD.value}},
        "nova-viewer": {"auth": {"token": VIEWER_TOKEN.value}},
        "nova-down": {"auth": {"token": UNREACHABLE_TOKEN.value}},
        "keystone-down": {"auth": {"password": OS_PASSWORD.value}},
    }
    return {"clouds": public}, {"clouds": secure}


def _vcenter(
    stack: Stack, name: str, *, port: int | None = None, user: str = VCSIM_USER, env: str = PASSWORD_ENV
) -> dict[str, Any]:
    return {
        "name": name,
        "host": "127.0.0.1",
        "port": port or stack.vcsim.port,
        "user": user,
        "password_env": env,
        "verify": stack.vcsim.ca_file,
    }


HEALTHY_CLOUDS = ["nova-token", "nova-password"]
FAILING_CLOUDS = ["nova-wrong-password", "nova-viewer", "nova-down", "keystone-down"]


def _healthy_vcenters(stack: Stack) -> list[dict[str, Any]]:
    return [_vcenter(stack, "vcsim")]


def _failing_vcenters(stack: Stack) -> list[dict[str, Any]]:
    return [
        _vcenter(stack, "vc-wrong-password", env=WRONG_PASSWORD_ENV),  # the env var holds a wrong secret
        _vcenter(stack, "vc-wrong-user", user="nobody@vsphere.local"),  # the right secret, refused
        _vcenter(stack, "vc-down", port=stack.closed_port),
    ]


def _write_inputs(stack: Stack, tmp_path: Path, clouds: list[str], vcenters: list[dict[str, Any]]) -> tuple[Path, Path]:
    """The settings file and secure.yaml, outside the sandbox (they are inputs, not what the app wrote)."""
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    public, secure = _clouds(stack)
    clouds_yaml = inputs / "clouds.yaml"
    clouds_yaml.write_text(yaml.safe_dump(public))
    secure_yaml = inputs / "secure.yaml"
    secure_yaml.write_text(yaml.safe_dump(secure))
    settings = inputs / "hybridview.yaml"
    entries = [{"name": c, "clouds_yaml": str(clouds_yaml)} for c in clouds]
    settings.write_text(yaml.safe_dump({"version": 1, "refresh_seconds": 60, "clouds": entries, "vcenters": vcenters}))
    return settings, secure_yaml


# ---- running the CLI ----


def _child_env(sandbox: Sandbox, secure_yaml: Path) -> dict[str, str]:
    return sandbox.env(
        {
            "OS_CLIENT_SECURE_FILE": str(secure_yaml),
            PASSWORD_ENV: VC_PASSWORD.value,
            WRONG_PASSWORD_ENV: VC_WRONG_PASSWORD.value,
        }
    )


def _sources(sandbox: Sandbox, settings: Path, stdout: str, stderr: str) -> dict[str, str]:
    return {
        "stdout": stdout,
        "stderr": stderr,
        f"settings {settings.name}": settings.read_text(),
        **sandbox.file_sources(),
    }


def _run(tmp_path: Path, settings: Path, secure_yaml: Path, *args: str) -> Run:
    sandbox = Sandbox(tmp_path / "sandbox")
    done = subprocess.run(
        [*CLI, *args, "-v", "--config", str(settings)],
        capture_output=True,
        text=True,
        cwd=sandbox.cwd,
        env=_child_env(sandbox, secure_yaml),
        timeout=RUN_TIMEOUT,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr, _sources(sandbox, settings, done.stdout, done.stderr))


def _watch(tmp_path: Path, settings: Path, secure_yaml: Path, follow_seconds: float) -> Run:
    """``watch --json -v`` until its first report plus ``follow_seconds``, then SIGTERM.

    Output goes to files, not pipes: ``-v`` writes more than a pipe holds while nobody reads it.
    """
    sandbox = Sandbox(tmp_path / "sandbox")
    out_path, err_path = tmp_path / "watch.stdout", tmp_path / "watch.stderr"
    with out_path.open("w") as out, err_path.open("w") as err:
        proc = subprocess.Popen(
            [*CLI, "watch", "--json", "--interval", "1", "-v", "--config", str(settings)],
            stdout=out,
            stderr=err,
            text=True,
            cwd=sandbox.cwd,
            env=_child_env(sandbox, secure_yaml),
        )
        try:
            deadline = time.monotonic() + RUN_TIMEOUT / 2
            while '"kind": "overall"' not in out_path.read_text():
                assert proc.poll() is None and time.monotonic() < deadline, err_path.read_text()[-3000:]
                time.sleep(0.1)
            time.sleep(follow_seconds)  # more rounds: periodic re-reads, the stale vCenter retried
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    stdout, stderr = out_path.read_text(), err_path.read_text()
    return Run(code, stdout, stderr, _sources(sandbox, settings, stdout, stderr))


# ---- what every run must show ----


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def assert_no_secret(run: Run, stack: Stack) -> None:
    leaks = find_leaks(run.sources, stack.known)
    assert not leaks, "secrets in the output:\n" + "\n".join(str(leak) for leak in leaks)


def assert_debug_logs_were_scanned(run: Run) -> None:
    """The scan saw real -v output, not an empty capture."""
    # Not asserted: "no Traceback" (logged errors are fine here, and scanned like the rest).
    assert run.sources["stderr"] == run.stderr and run.sources["stdout"] == run.stdout
    debug = [line for line in run.stderr.splitlines() if " DEBUG " in line]
    assert len(debug) >= 10, run.stderr[-3000:]
    assert any(" DEBUG keystoneauth.session: REQ: curl" in line for line in debug), run.stderr[-3000:]


# ---- controls: the scanner finds what it is looking for ----


def test_the_scanner_finds_a_secret_in_every_encoding_it_knows() -> None:
    secret = Secret("control", distinctive("control"), "someone")
    forms = encodings(secret)
    # the special characters make the encodings differ from the raw text
    assert {"url-encoded", "xml-escaped", "hex", "base64+0", "base64+1", "base64+2", "basic-auth"} <= set(forms)
    for form, text in forms.items():
        found = find_leaks({"log": f"2026-01-01 DEBUG x: before {text} after"}, [secret])
        assert {leak.form for leak in found} >= {form}, form
        assert all("<control:" in leak.context and secret.value not in leak.context for leak in found)
    # base64 of a larger document, at each alignment, and a header in upper case
    for prefix in ("", "a", "ab"):
        blob = base64.b64encode(f'{prefix}{{"password": "{secret.value}"}}'.encode()).decode()
        assert find_leaks({"log": f"body={blob}"}, [secret]), prefix
    assert find_leaks({"log": f"X-AUTH-TOKEN: {secret.value.upper()}"}, [secret])


def test_a_token_s_sha256_digest_is_not_a_leak() -> None:
    secret = Secret("token", f"admin:{distinctive('token')}")
    assert find_leaks({"log": f'-H "X-Auth-Token: {{SHA256}}{_sha256(secret.value)}"'}, [secret]) == []


def test_every_file_written_in_the_sandbox_is_scanned(tmp_path: Path) -> None:
    """The audit log's hook: a file under the user data (or state, cache, config) dir is found and scanned."""
    sandbox = Sandbox(tmp_path)
    secret = Secret("control", distinctive("control"))
    audit = sandbox.dirs["XDG_DATA_HOME"] / "hybridview" / "audit.jsonl"
    audit.parent.mkdir(parents=True)
    audit.write_text(json.dumps({"action": "evacuate", "password": secret.value}) + "\n")
    (sandbox.dirs["XDG_STATE_HOME"] / "clean.log").write_text("nothing here\n")
    env = sandbox.env({})
    assert env["XDG_DATA_HOME"] == str(sandbox.dirs["XDG_DATA_HOME"]) and env["HOME"] == str(sandbox.home)
    (leak,) = find_leaks(sandbox.file_sources(), [secret])
    assert leak.source == "file home/.local/share/hybridview/audit.jsonl"


# ---- the runs ----


@pytest.mark.nova_peer
@pytest.mark.vcsim_peer
def test_status_verbose_on_healthy_peers_prints_no_secret(stack: Stack, tmp_path: Path) -> None:
    settings, secure = _write_inputs(stack, tmp_path, HEALTHY_CLOUDS, _healthy_vcenters(stack))
    logins_before = len(stack.nova.login_requests())
    run = _run(tmp_path, settings, secure, "status", "--json")
    assert [(e["name"], e["ok"]) for e in run.doc()["endpoints"]] == [
        ("nova-token", True),
        ("nova-password", True),
        ("vcsim", True),
    ], run.stderr[-3000:]
    # The secrets really travelled: the password to Keystone, both tokens to Nova (logged as digests only).
    assert OS_PASSWORD.value in json.dumps(stack.nova.login_requests(logins_before))
    for token in (stack.nova.token, ISSUED_TOKEN.value):
        assert f"X-Auth-Token: {{SHA256}}{_sha256(token)}" in run.stderr
    assert_debug_logs_were_scanned(run)
    assert_no_secret(run, stack)


@pytest.mark.nova_peer
@pytest.mark.vcsim_peer
def test_status_verbose_on_refusals_and_unreachable_endpoints_prints_no_secret(stack: Stack, tmp_path: Path) -> None:
    settings, secure = _write_inputs(stack, tmp_path, FAILING_CLOUDS, _failing_vcenters(stack))
    logins_before = len(stack.nova.login_requests())
    run = _run(tmp_path, settings, secure, "status", "--json", "--timeout", "20")
    errors = {e["name"]: e["error"] for e in run.doc()["endpoints"]}
    assert all(errors.values()), errors  # every endpoint failed, as meant
    assert "401" in errors["nova-wrong-password"], errors
    assert "403" in errors["nova-viewer"], errors
    assert "login refused" in errors["vc-wrong-password"] and "login refused" in errors["vc-wrong-user"], errors
    assert OS_WRONG_PASSWORD.value in json.dumps(stack.nova.login_requests(logins_before))
    assert_debug_logs_were_scanned(run)
    assert_no_secret(run, stack)


@pytest.mark.nova_peer
@pytest.mark.vcsim_peer
def test_status_verbose_on_a_nova_401_prints_no_secret(stack: Stack, tmp_path: Path) -> None:
    settings, secure = _write_inputs(stack, tmp_path, HEALTHY_CLOUDS, [])
    stack.nova.set_version_fault("401")
    try:
        run = _run(tmp_path, settings, secure, "status", "--json", "--timeout", "20")
    finally:
        stack.nova.set_version_fault(None)
    errors = {e["name"]: e["error"] for e in run.doc()["endpoints"]}
    assert all("401" in (error or "") for error in errors.values()), errors
    assert_debug_logs_were_scanned(run)
    assert_no_secret(run, stack)


@pytest.mark.nova_peer
@pytest.mark.vcsim_peer
def test_watch_verbose_with_a_refused_vcenter_prints_no_secret(stack: Stack, tmp_path: Path) -> None:
    vcenters = [*_healthy_vcenters(stack), _vcenter(stack, "vc-wrong-password", env=WRONG_PASSWORD_ENV)]
    settings, secure = _write_inputs(stack, tmp_path, HEALTHY_CLOUDS, vcenters)
    run = _watch(tmp_path, settings, secure, follow_seconds=2.5)
    assert run.code == 0, run.stderr[-3000:]
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    stale = [ln for ln in lines if ln["kind"] == "endpoint" and ln["to"] == "STALE"]
    assert [ln["name"] for ln in stale] == ["vc-wrong-password"], lines
    assert "login refused" in stale[0]["reason"]
    reads = run.stderr.count('"GET /v2.1/os-services')  # urllib3's line, one per cloud and round
    assert reads > len(HEALTHY_CLOUDS), f"{reads} reads of os-services: expected a second round"
    assert_debug_logs_were_scanned(run)
    assert_no_secret(run, stack)


@pytest.mark.nova_peer
@pytest.mark.vcsim_peer
def test_screenshot_verbose_writes_no_secret(stack: Stack, tmp_path: Path) -> None:
    settings, secure = _write_inputs(stack, tmp_path, HEALTHY_CLOUDS, _healthy_vcenters(stack))
    run = _run(tmp_path, settings, secure, "screenshot", "shot.png", "--size", "800x500")
    assert run.code == 0, run.stderr[-3000:]
    assert any(name.endswith("cwd/shot.png") for name in run.sources), list(run.sources)  # the PNG is scanned too
    assert_debug_logs_were_scanned(run)
    assert_no_secret(run, stack)
