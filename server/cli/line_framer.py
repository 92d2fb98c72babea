"""Split a byte stream into text lines, with a cap on one line's length."""

from __future__ import annotations


class LineTooLong(Exception):
    """A line grew past the cap before its newline arrived."""


class LineFramer:
    """Collects stdout chunks and hands back whole lines as they complete."""

    def __init__(self, max_line_bytes: int):
        self._max = max_line_bytes
        self._buffer = bytearray()

    def push(self, chunk: bytes) -> list[str]:
        """Add a chunk; return the lines it completed, without their newlines."""
        lines = []
        start = 0
        while (end := chunk.find(b"\n", start)) != -1:
            self._append(chunk[start:end])
            lines.append(_decode(self._buffer))
            self._buffer.clear()
            start = end + 1
        self._append(chunk[start:])
        return lines

    def _append(self, piece: bytes) -> None:
        if len(self._buffer) + len(piece) > self._max:
            raise LineTooLong(f"a CLI output line exceeded {self._max} bytes")
        self._buffer += piece

    def flush(self) -> list[str]:
        """Return the unterminated last line, if any, at end of stream."""
        rest, self._buffer = bytes(self._buffer), bytearray()
        return [_decode(rest)] if rest else []


def _decode(line: bytes) -> str:
    return line.rstrip(b"\r").decode("utf-8", errors="replace")
