"""Streaming readers for transaction files: CSV (UTF-8, with or without a BOM, or GB18030/GBK), JSON, JSON Lines.

Each bad value is refused naming its line (or index) and field; rows before it have
already been yielded, so a million-row file streams in constant memory. CSV is a file
people make, in Excel or WPS: it may group thousands in amounts (1,000,000.00); JSON may not.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import IO, BinaryIO

from voucher.errors import InputError, quote
from voucher.transactions import FIELDS, REQUIRED, Transaction, load_json, transaction_from_dict


class DecodedLines:
    """The text lines of a byte stream, decoded one at a time, so that a byte that does not
    decode is reported on its own line; iterable (for csv) and readable (for JSON)."""

    def __init__(self, binary: BinaryIO, encoding: str) -> None:
        self.binary, self.encoding, self.number, self._rest = binary, encoding, 0, ""

    def __iter__(self) -> DecodedLines:
        return self

    def __next__(self) -> str:
        if self._rest:
            line, self._rest = self._rest, ""
            return line
        raw = self.binary.readline()
        if not raw:
            raise StopIteration
        self.number += 1
        try:
            return raw.decode(self.encoding)
        except UnicodeDecodeError:
            name = self.encoding.removesuffix("-sig").upper()
            raise InputError(f"line {self.number}", f"is not {name} text; say which encoding the file is in "
                                                    "(--encoding gb18030, for example)") from None

    def read(self, size: int = -1) -> str:
        text = self._rest
        while size < 0 or len(text) < size:
            self._rest = ""
            line = next(self, None)
            if line is None:
                break
            text += line
        if size >= 0:
            text, self._rest = text[:size], text[size:]
        else:
            self._rest = ""
        return text


def open_text(binary: BinaryIO, encoding: str | None = None) -> DecodedLines:
    """Text over `binary` in `encoding`, or the one detected: UTF-8 (with or without a BOM),
    else GB18030 (a superset of GBK), as Excel and WPS save CSV on Chinese Windows.

    Detection looks at the first 64 KiB only; the rest streams.
    """
    if encoding:
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError:
            raise InputError("--encoding", f"unknown encoding {quote(encoding)}") from None
    buffered = binary if isinstance(binary, io.BufferedReader) else io.BufferedReader(binary, 1 << 16)
    head = buffered.peek(1 << 16)[: 1 << 16]
    if not encoding:
        encoding = next((name for name in ("utf-8", "gb18030") if _decodes(head, name)), "utf-8")
    return DecodedLines(buffered, "utf-8-sig" if encoding == "utf-8" else encoding)  # a BOM is never data


def _decodes(head: bytes, encoding: str) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)().decode(head, final=False)  # a character cut at the end is fine
    except UnicodeDecodeError:
        return False
    return True


def read_csv(stream: IO[str]) -> Iterator[Transaction]:
    """Stream rows of a CSV with a header naming the transaction fields; empty cells are blank.

    The header is checked before any row; a short or long row and a cell over the csv
    module's size limit are refused naming the line (and the field, where there is one).
    """
    reader = csv.DictReader(stream)
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        raise InputError("line 1", f"not readable as CSV: {exc}") from None
    if not header:
        raise InputError("line 1", f"the file is empty; the first line must be the header: {','.join(FIELDS)}")
    header = reader.fieldnames = [header[0].removeprefix("\ufeff"), *header[1:]]  # Excel's "CSV UTF-8"
    _check_header(header)
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            why = str(exc)
            if "field larger than field limit" in why:
                why = f"a cell is longer than {csv.field_size_limit():,} characters"
            raise InputError(f"line {reader.line_num + 1}", why) from None  # the line the record starts on
        # The line the record starts on: blank lines are skipped and a quoted cell may span lines.
        number = reader.line_num - sum(v.count("\n") for v in row.values() if isinstance(v, str))
        if None in row:
            raise InputError(f"line {number}", f"has more cells than the header's {len(header)}")
        missing = next((name for name in header if row[name] is None), None)
        if missing:
            cells = sum(v is not None for v in row.values())
            raise InputError(f"line {number}.{missing}", f"missing: the row has {cells} cells, the header "
                                                         f"{len(header)}")
        yield transaction_from_dict({k: v for k, v in row.items() if v != ""}, f"line {number}", grouping=True)


def _check_header(header: list[str]) -> None:
    for name in header:
        if name not in FIELDS:
            raise InputError(f"line 1.{name}", f"unknown column; the columns are {','.join(FIELDS)}")
    twice = next((name for name in header if header.count(name) > 1), None)
    if twice:
        raise InputError(f"line 1.{twice}", "is named twice in the header")
    lacking = [name for name in REQUIRED if name not in header]
    if lacking:
        raise InputError("line 1", f"the header lacks {', '.join(lacking)}")


def read_json(stream: IO[str]) -> Iterator[Transaction]:
    """JSON Lines (one object a line, streamed) or one JSON array / {"transactions": [...]}."""
    first, newlines = stream.read(1), 0
    while first and (first.isspace() or first == "\ufeff"):
        newlines += first == "\n"
        first = stream.read(1)
    if not first:
        raise InputError("line 1", "the file is empty; give a JSON array of transactions or JSON Lines")
    if first != "[" and first != "{":
        raise InputError("input", "JSON input must start with [ or {")
    text = first + stream.read()
    if first == "{" and "\n{" in text:
        try:
            json.loads(text)
        except ValueError:  # not one document: JSON Lines
            yield from _json_lines(io.StringIO("\n" * newlines + text))
            return
    try:
        doc = load_json(text)
    except InputError as exc:  # where a key named twice is depends on the form of the document
        if exc.field == "input" or exc.field.startswith("transactions"):
            raise
        where = "transactions" if first == "[" else f"line {newlines + 1}."
        raise InputError(where + exc.field, exc.problem) from None
    if isinstance(doc, dict) and "transactions" not in doc:  # JSON Lines of one line
        yield transaction_from_dict(doc, f"line {newlines + 1}")
        return
    items = doc.get("transactions") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise InputError("transactions", "must be a list")
    for i, item in enumerate(items):
        yield transaction_from_dict(item, f"transactions[{i}]")


def _json_lines(stream: IO[str]) -> Iterator[Transaction]:
    seen = False
    for number, line in enumerate(stream, start=1):
        if line.strip():
            seen = True
            yield transaction_from_dict(load_json(line, f"line {number}"), f"line {number}")
    if not seen:
        raise InputError("line 1", "the file is empty; give one JSON object a line")


def read_transactions(stream: IO[str], fmt: str) -> Iterable[Transaction]:
    if fmt == "csv":
        return read_csv(stream)
    if fmt == "jsonl":
        return _json_lines(stream)
    return read_json(stream)
