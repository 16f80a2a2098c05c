"""WCAG 2 contrast, shared by the UI tests that check a theme's colours."""

from __future__ import annotations


def contrast(a: str, b: str) -> float:
    """The WCAG 2 contrast ratio of two sRGB colours (#rrggbb), 1 to 21."""

    def luminance(colour: str) -> float:
        channels = [int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)
