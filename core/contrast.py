"""WCAG 2 relative luminance and contrast ratio of sRGB colours written `rrggbb`."""

from __future__ import annotations

#: WCAG 2 AA for normal text (success criterion 1.4.3).
TEXT_CONTRAST = 4.5


def luminance(colour: str) -> float:
    """Relative luminance of `rrggbb` (WCAG 2 definition)."""
    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i:i + 2]) for i in (0, 2, 4))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(first: str, second: str) -> float:
    """From 1 (the same) to 21 (black on white)."""
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)
