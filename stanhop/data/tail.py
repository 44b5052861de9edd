"""The last lines of a file, read backwards from its end in blocks, so that the end of a
huge file is reached in memory and time bounded by what is kept, not by the file's size.

Lines end at ``b"\\n"``, so LF and CRLF files both work (the ``\\r`` stays on its line);
the text is not decoded, which is safe for UTF-8 and the other ASCII-compatible
encodings, whose bytes of a multi-byte character are never ``b"\\n"``.
"""

from __future__ import annotations

import os
from typing import BinaryIO

# The first read from the end; each later read is twice the one before, so that the
# re-joining of what has been read costs time linear in the bytes kept.
BLOCK_SIZE = 1 << 16


def read_tail_lines(
    file: BinaryIO,
    n_lines: int,
    start: int = 0,
    max_bytes: int | None = None,
    block_size: int = BLOCK_SIZE,
) -> tuple[int, bytes] | None:
    """The last ``n_lines`` non-blank lines of the binary ``file`` that begin at or after
    byte ``start`` (e.g. the end of a header line), and the offset where they begin.

    Returns ``(offset, data)``: ``data`` is the file from ``offset`` to its end, holding
    those lines, any blank (whitespace-only) lines among and after them, and the last
    line even without a final newline. When the file holds fewer lines after ``start``,
    ``offset`` is ``start`` and ``data`` holds them all. Returns ``None`` when more than
    ``max_bytes`` would have to be kept (very long lines, or a file whose lines end in a
    lone ``\\r``, which is one line here).

    Reads at most about twice ``len(data)`` bytes (and at least one block), however large
    the file.
    """
    if n_lines < 1:
        raise ValueError(f"n_lines must be at least 1, got {n_lines}")
    end = file.seek(0, os.SEEK_END)
    pos, data = end, b""
    while pos > start:
        step = min(block_size, pos - start)
        if max_bytes is not None and len(data) + step > max_bytes:
            return None
        pos -= step
        file.seek(pos)
        data = file.read(step) + data
        block_size *= 2
        offset = _start_of_last_lines(data, n_lines)
        if offset is not None:
            return pos + offset, data[offset:]
    return start, data


def count_lines(file: BinaryIO, end: int, block_size: int = BLOCK_SIZE) -> int:
    """How many line ends (``b"\\n"``) the first ``end`` bytes of ``file`` hold, read in
    blocks: the 1-based number of the line that starts at ``end`` is this plus one."""
    file.seek(0)
    count, left = 0, end
    while left > 0:
        block = file.read(min(block_size, left))
        if not block:
            break
        count += block.count(b"\n")
        left -= len(block)
    return count


def _start_of_last_lines(data: bytes, n_lines: int) -> int | None:
    """Where in ``data`` its ``n_lines``-th last non-blank line starts, or ``None`` when
    ``data`` does not hold that many lines after its first newline (the piece before it
    may be the end of a line that began before ``data``)."""
    pieces = data.split(b"\n")
    seen, piece_end = 0, len(data)
    for piece in reversed(pieces[1:]):
        piece_start = piece_end - len(piece)
        if piece.strip():
            seen += 1
            if seen == n_lines:
                return piece_start
        piece_end = piece_start - 1  # the newline before this piece
    return None
