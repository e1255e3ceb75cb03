"""The digest's chart: a small PNG of the week's mentions per day, stacked by tone.

Drawn with Pillow from counts only (no fetched text reaches the image), the same bytes for
the same numbers, small enough for an email (a few kilobytes). A dash over each day marks
the total on the same day of the week before.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from PIL import Image, ImageDraw, ImageFont

TONES = (("negative", (176, 0, 32)), ("neutral", (150, 150, 150)), ("positive", (46, 125, 50)))
BACKGROUND, INK, GRID, BEFORE = (255, 255, 255), (34, 34, 34), (225, 225, 225), (31, 95, 168)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def week_chart(days: Sequence[dict[str, Any]], width: int = 600, height: int = 240) -> bytes:
    """``days``: seven dicts with ``label`` ("Mon 16"), ``negative``, ``neutral``, ``positive``, ``previous``."""
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    small, title_font = _font(11), _font(13)
    left, right, top, bottom = 36, width - 12, 34, height - 28
    draw.text((left, 8), "Mentions per day, by tone", fill=INK, font=title_font)
    _legend(draw, small, right)

    totals = [sum(int(d.get(t, 0)) for t, _ in TONES) for d in days]
    previous = [int(d.get("previous", 0)) for d in days]
    peak = max([*totals, *previous, 1])
    step = max(1, -(-peak // 4))  # gridlines at whole numbers, about four of them
    ceiling = step * -(-peak // step)
    scale = (bottom - top) / ceiling
    for value in range(0, ceiling + 1, step):
        y = bottom - value * scale
        draw.line((left, y, right, y), fill=GRID)
        draw.text((left - 6, y), str(value), fill=INK, font=small, anchor="rm")

    slot = (right - left) / max(len(days), 1)
    bar = slot * 0.56
    for index, day in enumerate(days):
        x0 = left + index * slot + (slot - bar) / 2
        y = float(bottom)
        for tone, colour in TONES:
            count = int(day.get(tone, 0))
            if count:
                draw.rectangle((x0, y - count * scale, x0 + bar, y), fill=colour)
                y -= count * scale
        if totals[index]:
            draw.text((x0 + bar / 2, y - 2), str(totals[index]), fill=INK, font=small, anchor="mb")
        if previous[index]:
            mark = bottom - previous[index] * scale
            draw.line((x0 - 3, mark, x0 + bar + 3, mark), fill=BEFORE, width=2)
        draw.text((x0 + bar / 2, bottom + 6), str(day.get("label", "")), fill=INK, font=small, anchor="mt")

    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _legend(draw: ImageDraw.ImageDraw, font: Any, right: int) -> None:
    entries = [*((tone, colour) for tone, colour in TONES), ("week before", BEFORE)]
    x = right
    for label, colour in reversed(entries):
        width = draw.textlength(label, font=font)
        x -= width
        draw.text((x, 12), label, fill=INK, font=font)
        x -= 14
        if label == "week before":
            draw.line((x, 18, x + 10, 18), fill=colour, width=2)
        else:
            draw.rectangle((x, 13, x + 10, 23), fill=colour)
        x -= 12
