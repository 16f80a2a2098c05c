"""``hybridview options``: one item's moves as text (its JSON is ``MoveOptions.as_json``)."""

from __future__ import annotations

from hybridview.core.migration_options import MoveOption, MoveOptions

TARGETS_SHOWN = 8


def options_text(options: MoveOptions) -> str:
    lines = [options.subject]
    for option in options.options:
        lines += _option_lines(option)
    return "\n".join(lines)


def options_json(options: MoveOptions) -> dict[str, object]:
    return options.as_json()


def _option_lines(option: MoveOption) -> list[str]:
    mark = "yes" if option.available else "no "
    layer = "vSphere" if option.actor == "vsphere" else "Nova"
    lines = [f"  {mark}  {option.kind.label} ({layer}): {option.reason}"]
    if option.after:
        lines.append(f"       after: {option.after}")
    if option.scheduler and option.available:
        lines.append("       target: auto (the scheduler chooses) or one of:")
    shown = option.targets[:TARGETS_SHOWN]
    for t in shown:
        free = f" [{t.free}]" if t.free else ""
        state = "" if t.usable else f"  (not usable: {t.reason})"
        ident = "" if t.name.startswith(t.ident) else f" ({t.ident})"
        lines.append(f"       - {t.name}{ident}{free}{state}")
    if len(option.targets) > len(shown):
        lines.append(f"       … and {len(option.targets) - len(shown)} more (--json lists all)")
    return lines
