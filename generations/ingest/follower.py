"""Following a growing log file (command ``follow_log``): new ids queued as their lines are written, like ``tail -F``.

- Only whole lines are read. A last line without its newline is a writer mid-line: it is left for a
  later read, never parsed half-written.
- Where it got to is kept in the database (`LogFollowerOffset`: the file's inode and a fingerprint of
  its first bytes, since a deleted file's inode is soon given to a new one, and the byte offset after
  the last whole line read), written in the same transaction as the ids those lines queued, so a
  restart neither skips nor repeats a line.
- Rotation. When the path names another file (a new inode: rename and create), the rest of the old
  file is read first, from the handle still open, or after a restart from the rotated file beside it
  that has the remembered inode (``app.log.1``); its last line is read even without a newline, since
  its writer has moved on. When the file shrank or its first bytes changed under the same inode
  (copytruncate), reading starts again at its beginning.
- Lines are parsed as the Import page parses them (`parsing.parse_ids`): JSON Lines with a dotted
  ``key``, CSV with a header row and a ``key`` column (or a guessed one), or plain text.
"""

from __future__ import annotations

import hashlib
import logging
import os
from typing import BinaryIO

from django.db import transaction

from generations.ingest.models import LogFollowerOffset, LookupBatch
from generations.ingest.parsing import ParsedIds, UnreadableImport, parse_ids
from generations.ingest.queue import generation_enqueue

logger = logging.getLogger(__name__)

# Follower format → parse_ids format.
FORMATS = {"jsonl": "jsonl", "csv": "csv", "txt": "text"}
# Read at most this much per step: memory stays bounded however far behind the follower is.
READ_BYTES = 1024 * 1024
FINGERPRINT_BYTES = 1024


class LogFollower:
    """``poll()`` queues the ids of every whole line written since the last poll and returns how many ids it read."""

    def __init__(self, path: str, *, format: str, key: str = "") -> None:
        if format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
        self.path = os.path.abspath(path)
        self.format = format
        self.key = key
        self._file: BinaryIO | None = None
        remembered = LogFollowerOffset.objects.filter(path=self.path).first()
        self._inode: int | None = remembered.inode if remembered else None
        self._fingerprint = remembered.fingerprint if remembered else ""
        self._offset = remembered.offset if remembered else 0

    @property
    def position(self) -> tuple[int | None, int]:
        """(inode, byte offset) of the next line to read."""
        return self._inode, self._offset

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def poll(self) -> int:
        read = 0
        if self._file is None:
            self._open_remembered()
        while self._file is not None:
            current = _stat(self.path)
            if not self._holds_what_was_read(self._file):
                logger.warning("%s was truncated: reading it again from its beginning.", self.path)
                self._move_to(self._file, offset=0)
            read += self._read_whole_lines()
            if current is None or current.st_ino == self._inode:
                break  # still the file at the path, or rotated with no new file yet (the old one may still grow)
            read += self._read_whole_lines(final=True)  # rotated: finish the old file, then read the new one
            self._open_path()
        return read

    # ------------------------------------------------------------------------------------------ files

    def _open_remembered(self) -> None:
        """Open the file the remembered offset belongs to: at the path, or rotated beside it; else the path from 0."""
        if self._inode is not None:
            for candidate in (self.path, *self._rotated_candidates()):
                handle = _open_if_inode(candidate, self._inode)
                if handle is not None and self._holds_what_was_read(handle):
                    self._move_to(handle, offset=self._offset)
                    return
                if handle is not None:
                    handle.close()
            logger.warning(
                "%s: the file read up to byte %s (inode %s) is gone; lines written to it after that are missed.",
                self.path,
                f"{self._offset:,}",
                self._inode,
            )
        self._open_path()

    def _rotated_candidates(self) -> list[str]:
        directory, name = os.path.split(self.path)
        try:
            names = sorted(entry for entry in os.listdir(directory) if entry.startswith(name) and entry != name)
        except OSError:
            return []
        return [os.path.join(directory, entry) for entry in names]

    def _open_path(self) -> None:
        self.close()
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 (kept open between polls, closed by close())
        except FileNotFoundError:
            return  # not created yet: the next poll looks again
        self._move_to(handle, offset=0)

    def _holds_what_was_read(self, handle: BinaryIO) -> bool:
        """Whether ``handle`` is the file read up to the offset: as long, and starting with the same bytes."""
        return (
            os.fstat(handle.fileno()).st_size >= self._offset
            and _fingerprint(handle, self._offset) == self._fingerprint
        )

    def _move_to(self, handle: BinaryIO, *, offset: int) -> None:
        if handle is not self._file:
            self.close()
            self._file = handle
        inode = os.fstat(handle.fileno()).st_ino
        if (inode, offset) != (self._inode, self._offset):
            fingerprint = self._save(inode=inode, offset=offset)
            self._inode, self._fingerprint, self._offset = inode, fingerprint, offset

    # ------------------------------------------------------------------------------------------ lines

    def _read_whole_lines(self, *, final: bool = False) -> int:
        """Queue the ids of the whole lines from the offset to the end (``final``: the last one even
        without its newline), one step of at most READ_BYTES at a time."""
        read = 0
        while True:
            self._file.seek(self._offset)
            data = self._file.read(READ_BYTES)
            end = data.rfind(b"\n") + 1
            if not end and (final or len(data) == READ_BYTES):
                end = len(data)  # the end of a finished file, or one line longer than a step: read as it is
            if not end:
                return read
            read += self._queue_lines(data[:end])

    def _queue_lines(self, lines: bytes) -> int:
        start = self._offset
        data = lines
        header = b""
        if self.format == "csv":
            header = lines[: lines.find(b"\n") + 1] if start == 0 else self._header()
            data = lines[len(header) :] if start == 0 else lines
        parsed = self._parse(header + data, start=start) if data.strip() else None
        with transaction.atomic():
            if parsed is not None and parsed.ids:
                generation_enqueue(
                    ids=parsed.ids,
                    source=LookupBatch.Source.FOLLOWER,
                    label=self.path[-200:],
                    invalid=parsed.invalid_count,
                )
            fingerprint = self._save(inode=self._inode, offset=start + len(lines))
        # Only once committed: after a failed write the same lines are read again.
        self._fingerprint, self._offset = fingerprint, start + len(lines)
        if parsed is not None and parsed.invalid_count:
            first = parsed.invalid[0]
            logger.warning(
                "%s, bytes %s to %s: %s lines without a valid id, e.g. %s: %s",
                self.path,
                f"{start:,}",
                f"{start + len(lines):,}",
                parsed.invalid_count,
                first.location,
                first.reason,
            )
        return len(parsed.ids) if parsed is not None else 0

    def _parse(self, text: bytes, *, start: int) -> ParsedIds | None:
        column, key = (self.key, "") if self.format == "csv" else ("", self.key)
        try:
            return parse_ids(text, format=FORMATS[self.format], column=column, key=key)
        except UnreadableImport as error:
            # Skipped, not retried: the same bytes would fail the same way forever.
            logger.warning("%s, bytes %s on: skipped, %s", self.path, f"{start:,}", error.user_message)
            return None

    def _header(self) -> bytes:
        """A CSV log's first line, its header, read again when reading goes on from the middle."""
        first = os.pread(self._file.fileno(), READ_BYTES, 0)
        return first[: first.find(b"\n") + 1]

    def _save(self, *, inode: int, offset: int) -> str:
        """Write ``offset`` in the open file to the database (in the caller's transaction); its fingerprint."""
        fingerprint = _fingerprint(self._file, offset)
        LogFollowerOffset.objects.update_or_create(
            path=self.path, defaults={"inode": inode, "fingerprint": fingerprint, "offset": offset}
        )
        return fingerprint


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def _fingerprint(handle: BinaryIO, offset: int) -> str:
    return hashlib.sha256(os.pread(handle.fileno(), min(offset, FINGERPRINT_BYTES), 0)).hexdigest()


def _open_if_inode(path: str, inode: int) -> BinaryIO | None:
    try:
        handle = open(path, "rb")  # noqa: SIM115 (returned open)
    except OSError:
        return None
    if os.fstat(handle.fileno()).st_ino == inode:
        return handle
    handle.close()
    return None
