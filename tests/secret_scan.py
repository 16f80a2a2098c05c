"""Find known secrets, in the encodings they travel in, in what a command printed and every file it wrote.

``Sandbox`` gives a child process its own HOME, XDG base directories, TMPDIR and working directory,
so ``written_files()`` is every file the app wrote: a log, the settings, and (when it lands under
the user data dir) the audit log are scanned without naming them.
"""

from __future__ import annotations

import base64
import html
import json
import os
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

# Characters that URL-, XML- and JSON-style encodings change, so each encoding is a distinct needle.
ENCODED_CHARACTERS = "&/+%"
CONTEXT_CHARS = 100


def distinctive(label: str) -> str:
    """A secret nothing else prints: ``S3cret-<label>-<random>`` plus characters encodings change."""
    return f"S3cret-{label}-{secrets.token_hex(6)}{ENCODED_CHARACTERS}"


@dataclass(frozen=True)
class Secret:
    name: str  # what the report calls it, never the value
    value: str
    user: str | None = None  # for HTTP Basic auth's base64("user:password")


@dataclass(frozen=True)
class Leak:
    secret: str
    form: str
    source: str
    context: str  # the text around it, with the secret replaced by <secret:form>

    def __str__(self) -> str:
        return f"{self.secret} ({self.form}) in {self.source}: ...{self.context}..."


def _aligned_base64(raw: bytes, shift: int, encode: Callable[[bytes], bytes]) -> str:
    """The base64 characters that encode only ``raw`` when it starts ``shift`` bytes into a longer blob."""
    text = encode(b"\0" * shift + raw).decode()
    start = 4 if shift else 0  # the first group mixes in the bytes before it
    end = (shift + len(raw)) // 3 * 4  # the last full group
    return text[start:end]


def encodings(secret: Secret) -> dict[str, str]:
    """Every form to look for: raw, URL-, XML-, JSON-, hex-encoded and base64 at each alignment.

    base64 at the three alignments finds the secret inside any base64 blob (HTTP Basic auth's
    ``user:password``, a JSON document, a pickled object). A SHA256 digest is not here: keystoneauth
    logs ``{SHA256}<digest>`` of tokens, which does not reveal them.
    """
    raw = secret.value.encode()
    forms = {
        "raw": secret.value,
        "url-encoded": quote(secret.value, safe=""),
        "form-encoded": quote_plus(secret.value),
        "xml-escaped": html.escape(secret.value),
        "json-escaped": json.dumps(secret.value)[1:-1],
        "hex": raw.hex(),
    }
    for alphabet, encode in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
        for shift in range(3):
            forms[f"{alphabet}+{shift}"] = _aligned_base64(raw, shift, encode)
    if secret.user is not None:
        forms["basic-auth"] = base64.b64encode(f"{secret.user}:{secret.value}".encode()).decode()
    distinct: dict[str, str] = {}
    for form, needle in forms.items():  # one name per needle: the search ignores case
        if needle.lower() not in (n.lower() for n in distinct.values()):
            distinct[form] = needle
    return distinct


def find_leaks(sources: Mapping[str, str], known: Iterable[Secret]) -> list[Leak]:
    """Every occurrence of every form of every secret in every source (case-insensitive)."""
    leaks = []
    for secret in known:
        for form, needle in encodings(secret).items():
            wanted = needle.lower()
            for source, text in sources.items():
                lowered = text.lower()
                at = lowered.find(wanted)
                while at >= 0:
                    before = text[max(0, at - CONTEXT_CHARS) : at]
                    after = text[at + len(needle) : at + len(needle) + CONTEXT_CHARS]
                    leaks.append(Leak(secret.name, form, source, f"{before}<{secret.name}:{form}>{after}"))
                    at = lowered.find(wanted, at + 1)
    return leaks


class Sandbox:
    """Private HOME, XDG dirs, TMPDIR and cwd for one child process, all under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.cwd = root / "cwd"
        self.dirs = {
            "HOME": self.home,
            "XDG_CONFIG_HOME": self.home / ".config",
            "XDG_DATA_HOME": self.home / ".local" / "share",
            "XDG_STATE_HOME": self.home / ".local" / "state",
            "XDG_CACHE_HOME": self.home / ".cache",
            "XDG_RUNTIME_DIR": root / "runtime",
            "TMPDIR": root / "tmp",
        }
        for path in (*self.dirs.values(), self.cwd):
            path.mkdir(parents=True, exist_ok=True)
        self.dirs["XDG_RUNTIME_DIR"].chmod(0o700)  # Qt refuses a runtime dir others can read

    def env(self, extra: Mapping[str, str]) -> dict[str, str]:
        """The caller's environment without its own settings or clouds, pointed into the sandbox."""
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("OS_", "XDG_", "HYBRIDVIEW_")) and k != "TMPDIR"
        }
        env.update({name: str(path) for name, path in self.dirs.items()})
        env["QT_QPA_PLATFORM"] = "offscreen"
        env.update(extra)
        return env

    def written_files(self) -> list[Path]:
        """Every file under the sandbox: whatever the app wrote (logs, settings, caches, an audit log)."""
        return sorted(p for p in self.root.rglob("*") if p.is_file())

    def file_sources(self) -> dict[str, str]:
        """Each written file's bytes as text (latin-1: one character per byte, so nothing fails to decode)."""
        return {f"file {p.relative_to(self.root)}": p.read_bytes().decode("latin-1") for p in self.written_files()}
