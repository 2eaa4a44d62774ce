"""Fitting a text into its area: the largest font size whose lines fit the box, else truncation with "…".

The text is broken into lines between words (richmessages.linebreak) at each size from the area's font_max down
to its font_min, and the first size whose lines fit the box in width and height is taken. What still does not
fit at font_min is cut after the last line that fits, which then ends with an ellipsis. Sizes are estimated from
measurements at one reference size (richmessages.fonts), then the chosen lines are drawn into masks and the ink
actually drawn (outline and shadow offset included) is checked against the box: a text never leaves its area.

The result is a :class:`FittedText`: masks the size of the area, the glyphs (``fill``) and glyphs with their
outline (``stroke``), which the composer paints in the area's colours.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image, ImageDraw

from richmessages.fonts import REFERENCE_SIZE, Extent, FontSet, font_set
from richmessages.layout import TextArea
from richmessages.linebreak import ELLIPSIS, Chunk, chunks, clusters, hyphenates


@dataclass(frozen=True)
class FittedText:
    size: int
    lines: tuple[str, ...]
    truncated: bool
    # "L" masks of the area's size: the glyphs, and the glyphs with their outline (None without one).
    fill: Image.Image | None
    stroke: Image.Image | None
    # Pixels the drop shadow is offset right and down (0 without a shadow); the layout left room for it.
    shadow_offset: int

    @property
    def ink(self) -> Image.Image | None:
        """The mask of everything drawn in the text's colours."""
        return self.stroke if self.stroke is not None else self.fill


def shadow_offset(size: int) -> int:
    return max(1, round(size * 0.06))


def fit_text(text: str, area: TextArea, *, fonts: FontSet | None = None) -> FittedText:
    """``text`` laid out in ``area`` at the largest size from font_max down to font_min that fits, else at
    font_min cut to the lines that fit with an ellipsis (``truncated``)."""
    fonts = fonts or font_set()
    pieces = [_measure(fonts, chunk) for chunk in chunks(text)]
    if not pieces:
        return FittedText(area.font_min, (), False, None, None, 0)
    for size in range(area.font_max, area.font_min - 1, -1):
        metrics = _Metrics(fonts, area, size)
        lines, complete = _wrap(fonts, pieces, metrics)
        if complete and metrics.height_fits(lines):
            fitted = _render(fonts, lines, metrics, truncated=False)
            if fitted is not None:
                return fitted
    return _truncated(fonts, pieces, _Metrics(fonts, area, area.font_min))


@dataclass(frozen=True)
class _Piece:
    """A chunk with its font runs and its extent at the reference size."""

    text: str
    space_before: bool
    newline_before: bool
    runs: tuple[tuple[str, str, float], ...]  # (script, text, advance at the reference size)
    extent: Extent


def _measure(fonts: FontSet, chunk: Chunk) -> _Piece:
    runs, extent = fonts.measure(chunk.text)
    return _Piece(chunk.text, chunk.space_before, chunk.newline_before, runs, extent)


def _with_text(fonts: FontSet, piece: _Piece, text: str, *, space_before: bool | None = None) -> _Piece:
    chunk = Chunk(text, piece.space_before if space_before is None else space_before, piece.newline_before)
    return _measure(fonts, chunk)


class _Metrics:
    """Sizes in pixels at one font size in one area."""

    def __init__(self, fonts: FontSet, area: TextArea, size: int):
        self.area = area
        self.size = size
        self.factor = size / REFERENCE_SIZE
        self.stroke = area.stroke_width
        self.shadow = shadow_offset(size) if area.shadow else 0
        # Room the outline and the shadow take beside the glyphs themselves.
        self.max_width = area.width - 2 * self.stroke - self.shadow
        self.max_height = area.height - 2 * self.stroke - self.shadow
        self.line_advance = size * area.line_height
        self._spaces = {script: fonts.space_advance(script) * self.factor for script in fonts.fonts}

    def space(self, before: _Piece) -> float:
        return self._spaces[before.runs[-1][0]] if before.runs else 0.0

    def line(self, pieces: list[_Piece]) -> _LineBox:
        """Where each piece starts, and the ink box of the line, with the pen starting at 0 on the baseline."""
        origins = []
        pen = 0.0
        left = top = right = bottom = None
        for index, piece in enumerate(pieces):
            if index and piece.space_before:
                pen += self.space(pieces[index - 1])
            origins.append(pen)
            extent = piece.extent.scaled(self.factor)
            if extent.right > extent.left:
                left = pen + extent.left if left is None else min(left, pen + extent.left)
                right = pen + extent.right if right is None else max(right, pen + extent.right)
                top = extent.top if top is None else min(top, extent.top)
                bottom = extent.bottom if bottom is None else max(bottom, extent.bottom)
            pen += extent.advance
        if left is None:
            return _LineBox(pieces, origins, None)
        return _LineBox(pieces, origins, (left, top, right, bottom))

    def width_fits(self, pieces: list[_Piece]) -> bool:
        ink = self.line(pieces).ink
        return ink is None or math.ceil(ink[2] - ink[0]) <= self.max_width

    def block(self, lines: list[list[_Piece]]) -> tuple[list[_LineBox], tuple[float, float] | None]:
        """Each line's box, and the ink's top and bottom relative to the first baseline."""
        boxes = [self.line(pieces) for pieces in lines]
        top = bottom = None
        for number, box in enumerate(boxes):
            if box.ink is None:
                continue
            baseline = round(number * self.line_advance)
            top = baseline + box.ink[1] if top is None else min(top, baseline + box.ink[1])
            bottom = baseline + box.ink[3] if bottom is None else max(bottom, baseline + box.ink[3])
        return boxes, (None if top is None else (top, bottom))

    def height_fits(self, lines: list[list[_Piece]]) -> bool:
        _, vertical = self.block(lines)
        return vertical is None or math.ceil(vertical[1] - vertical[0]) <= self.max_height


@dataclass
class _LineBox:
    pieces: list[_Piece]
    origins: list[float]
    ink: tuple[float, float, float, float] | None

    @property
    def text(self) -> str:
        return "".join(
            (" " if index and piece.space_before else "") + piece.text for index, piece in enumerate(self.pieces)
        )


def _wrap(fonts: FontSet, pieces: list[_Piece], metrics: _Metrics) -> tuple[list[list[_Piece]], bool]:
    """Greedy lines of whole pieces; a piece wider than a line is split between clusters. ``complete`` is False
    when a single cluster is wider than the line: the lines then hold the text before it."""
    lines: list[list[_Piece]] = []
    current: list[_Piece] = []
    started = False
    for piece in pieces:
        if piece.newline_before and started:
            lines.append(current)
            current = []
        started = True
        if not piece.text:
            continue
        if metrics.width_fits([*current, piece]):
            current.append(piece)
            continue
        if current:
            lines.append(current)
            current = []
        if metrics.width_fits([piece]):
            current = [piece]
            continue
        parts = _split(fonts, piece, metrics)
        if parts is None:
            if current:
                lines.append(current)
            return lines, False
        lines.extend([part] for part in parts[:-1])
        current = [parts[-1]]
    if current or started:
        lines.append(current)
    return lines, True


def _split(fonts: FontSet, piece: _Piece, metrics: _Metrics) -> list[_Piece] | None:
    """A piece too wide for a line, cut between clusters into pieces that each fit (with a hyphen within a
    word of an alphabet); None when even its first cluster does not fit."""
    parts: list[_Piece] = []
    rest = clusters(piece.text)
    first = True
    while rest:
        whole = _with_text(fonts, piece, "".join(rest), space_before=piece.space_before if first else False)
        if metrics.width_fits([whole]):
            parts.append(whole)
            return parts
        count = _longest_prefix(rest, lambda text: metrics.width_fits([_with_text(fonts, piece, text)]), hyphen=True)
        if count == 0:
            return None
        head, rest_text = "".join(rest[:count]), "".join(rest[count:])
        if hyphenates(head, rest_text):
            head += "-"
        parts.append(_with_text(fonts, piece, head, space_before=piece.space_before if first else False))
        rest = rest[count:]
        first = False
    return parts


def _longest_prefix(pieces: list[str], fits, *, hyphen: bool = False, suffix: str = "") -> int:
    """The largest count of leading ``pieces`` whose text (plus its hyphen or ``suffix``) ``fits``; widths grow
    with the count, so a binary search finds it."""

    def text_of(count: int) -> str:
        head = "".join(pieces[:count])
        if hyphen and hyphenates(head, "".join(pieces[count:])):
            head += "-"
        return head + suffix

    low, high = 0, len(pieces)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(text_of(middle)):
            low = middle
        else:
            high = middle - 1
    return low


def _truncated(fonts: FontSet, pieces: list[_Piece], metrics: _Metrics) -> FittedText:
    """At the smallest size: as many lines as fit, the last one ending with an ellipsis."""
    lines, _ = _wrap(fonts, pieces, metrics)
    for count in range(len(lines), 0, -1):
        if not lines[count - 1]:
            continue  # a blank line cannot show the ellipsis
        kept = [*lines[: count - 1], _ellipsized(fonts, lines[count - 1], metrics)]
        if metrics.height_fits(kept):
            fitted = _render(fonts, kept, metrics, truncated=True)
            if fitted is not None:
                return fitted
    return FittedText(metrics.size, (), True, None, None, 0)


def _ellipsized(fonts: FontSet, line: list[_Piece], metrics: _Metrics) -> list[_Piece]:
    """The line, shortened from its end until it fits with "…" after its last piece."""
    line = list(line)
    while line:
        last = line[-1]
        ended = _with_text(fonts, last, last.text + ELLIPSIS)
        if metrics.width_fits([*line[:-1], ended]):
            return [*line[:-1], ended]
        line.pop()
        if not line:
            # The first piece alone is too wide with the ellipsis: keep the clusters of it that fit.
            return _ellipsized_piece(fonts, last, metrics)
    return []


def _ellipsized_piece(fonts: FontSet, piece: _Piece, metrics: _Metrics) -> list[_Piece]:
    """The clusters of one piece that fit with "…" after them, or "…" alone, or nothing."""
    parts = clusters(piece.text)
    count = _longest_prefix(parts, lambda text: metrics.width_fits([_with_text(fonts, piece, text)]), suffix=ELLIPSIS)
    ended = _with_text(fonts, piece, "".join(parts[:count]) + ELLIPSIS)
    return [ended] if metrics.width_fits([ended]) else []


def _render(fonts: FontSet, lines: list[list[_Piece]], metrics: _Metrics, *, truncated: bool) -> FittedText | None:
    """Draws the lines into masks and checks the ink drawn; None when it does not fit the area after all."""
    area, size, stroke = metrics.area, metrics.size, metrics.stroke
    boxes, vertical = metrics.block(lines)
    texts = tuple(box.text for box in boxes)
    if vertical is None:
        return FittedText(size, texts, truncated, None, None, 0)
    # A margin around the area catches ink the estimate missed, so it can be measured instead of cut off.
    margin = size + stroke + metrics.shadow + 2
    canvas = (area.width + 2 * margin, area.height + 2 * margin)
    fill = Image.new("L", canvas, 0)
    outline = Image.new("L", canvas, 0) if stroke else None
    draws = [ImageDraw.Draw(fill)] + ([ImageDraw.Draw(outline)] if outline is not None else [])
    block_top = margin + (area.height - (vertical[1] - vertical[0])) / 2 - vertical[0]
    for number, box in enumerate(boxes):
        if box.ink is None:
            continue
        baseline = round(block_top + round(number * metrics.line_advance))
        start = margin + (area.width - (box.ink[2] - box.ink[0])) / 2 - box.ink[0]
        for script, text, origin in _draw_runs(box, metrics):
            font = fonts.font(script, size)
            position = (round(start + origin), baseline)
            draws[0].text(position, text, fill=255, font=font, anchor="ls")
            if outline is not None:
                draws[1].text(position, text, fill=255, font=font, anchor="ls", stroke_width=stroke, stroke_fill=255)
    ink_mask = outline if outline is not None else fill
    ink = ink_mask.getbbox()
    if ink is None:
        return FittedText(size, texts, truncated, None, None, 0)
    shadow = metrics.shadow
    width, height = ink[2] - ink[0] + shadow, ink[3] - ink[1] + shadow
    if width > area.width or height > area.height:
        return None
    # Centre what was drawn (shadow included) in the area, then keep the area's part of the canvas.
    left = ink[0] - (area.width - width) // 2
    top = ink[1] - (area.height - height) // 2
    crop = (left, top, left + area.width, top + area.height)
    return FittedText(
        size=size,
        lines=texts,
        truncated=truncated,
        fill=fill.crop(crop),
        stroke=outline.crop(crop) if outline is not None else None,
        shadow_offset=shadow,
    )


def _draw_runs(box: _LineBox, metrics: _Metrics) -> list[tuple[str, str, float]]:
    """(script, text, x origin) of each stretch of one font in a line, one draw call each: Raqm shapes a
    stretch as a whole, and a stretch of another font starts where the measurements put it."""
    runs: list[list] = []
    for index, (piece, origin) in enumerate(zip(box.pieces, box.origins, strict=True)):
        pen = origin
        for number, (script, text, advance) in enumerate(piece.runs):
            spaced = index > 0 and number == 0 and piece.space_before
            if runs and runs[-1][0] == script:
                runs[-1][1] += (" " if spaced else "") + text
            else:
                runs.append([script, text, pen])
            pen += advance * metrics.factor
    return [(script, text, origin) for script, text, origin in runs]
