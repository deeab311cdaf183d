r"""The alist format of sparse parity-check matrices: read and write.

MacKay's alist format (the one WiMAX, Wi-Fi, DVB-S2, CCSDS and MacKay's own
matrices are published in) describes an ``M x N`` binary matrix :math:`H`
by its non-zero positions::

    N M                   columns (code length) and rows (checks)
    dv_max dc_max         largest column and row weight
    dv_1 ... dv_N         the weight of each column
    dc_1 ... dc_M         the weight of each row
    N lines               column j: the 1-based rows of its ones
    M lines               row i: the 1-based columns of its ones

Variants in the wild, all read here: index lists padded with zeros up to
``dv_max`` / ``dc_max`` (MacKay's own files) or not; trailing whitespace,
blank lines and CRLF line ends; ``#`` comment lines (AFF3CT's debug
matrices); lists wrapped over several lines; the row section omitted (it
repeats the column section). When the row section is there it must describe
the same matrix. Anything else is a :class:`ValueError` that names the file
and the line.

Examples
--------
>>> H = parse_alist("3 2\n2 2\n1 2 1\n2 2\n1\n1 2\n2\n1 2\n2 3\n")
>>> H
tensor([[1, 1, 0],
        [0, 1, 1]], dtype=torch.uint8)
>>> print(format_alist(H), end="")
3 2
2 2
1 2 1
2 2
1 0
1 2
2 0
1 2
2 3
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

__all__ = ["read_alist", "parse_alist", "write_alist", "format_alist"]


class _Tokens:
    """The integers of an alist text, each with its 1-based line number."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.items: list[tuple[int, int]] = []
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.split("#", 1)[0]
            for word in line.split():
                try:
                    value = int(word)
                except ValueError:
                    raise ValueError(f"{source}, line {number}: {word!r} is not an integer (an alist file holds integers only)") from None
                self.items.append((value, number))
        self.pos = 0

    def error(self, message: str, line: int | None = None) -> ValueError:
        if line is None:
            line = self.items[self.pos - 1][1] if self.pos else (self.items[0][1] if self.items else 1)
        return ValueError(f"{self.source}, line {line}: {message}")

    def next(self, what: str) -> tuple[int, int]:
        if self.pos >= len(self.items):
            last = self.items[-1][1] if self.items else 1
            raise ValueError(f"{self.source}, line {last}: the file ends before {what}")
        item = self.items[self.pos]
        self.pos += 1
        return item

    def at_end(self) -> bool:
        return self.pos >= len(self.items)

    def skip_zeros(self) -> None:
        while self.pos < len(self.items) and self.items[self.pos][0] == 0:
            self.pos += 1


def _weights(tokens: _Tokens, count: int, largest: int, what: str) -> list[int]:
    weights = []
    for i in range(count):
        value, line = tokens.next(f"the weight of {what} {i + 1} of {count}")
        if not 0 <= value <= largest:
            raise tokens.error(f"the weight of {what} {i + 1} is {value}, outside [0, {largest}] (the maximum weight on line 2)", line)
        weights.append(value)
    if max(weights, default=0) != largest:
        raise tokens.error(f"the largest {what} weight is {max(weights, default=0)}, but line 2 says {largest}")
    return weights


def _lists(tokens: _Tokens, weights: list[int], bound: int, what: str, other: str) -> list[tuple[list[int], int]]:
    """Each ``what``'s 1-based index list (zeros are padding) with the line it starts on."""
    lists = []
    for i, weight in enumerate(weights):
        tokens.skip_zeros()
        indices: list[int] = []
        first_line = None
        for _ in range(weight):
            value, line = tokens.next(f"the {weight} {other} indices of {what} {i + 1}")
            first_line = first_line or line
            if value == 0:
                raise tokens.error(f"{what} {i + 1} lists {len(indices)} {other}s before a zero, but its weight is {weight}", line)
            if not 1 <= value <= bound:
                raise tokens.error(f"{what} {i + 1} names {other} {value}, outside 1..{bound} (indices are 1-based)", line)
            if value in indices:
                raise tokens.error(f"{what} {i + 1} names {other} {value} twice", line)
            indices.append(value)
        lists.append((indices, first_line if first_line is not None else (tokens.items[tokens.pos - 1][1] if tokens.pos else 1)))
    tokens.skip_zeros()
    return lists


def parse_alist(text: str, *, source: str = "<alist>") -> torch.Tensor:
    """The parity-check matrix an alist text describes.

    Parameters
    ----------
    text : str
        The alist file's content.
    source : str
        Name used in error messages (the file's path).

    Returns
    -------
    torch.Tensor, [M, N], uint8
        :math:`H` in {0, 1}.

    Raises
    ------
    ValueError
        Naming ``source`` and the line, when the text is not a consistent alist.
    """
    tokens = _Tokens(text, source)
    n, line = tokens.next("the number of columns N (line 1: 'N M')")
    m, _ = tokens.next("the number of rows M (line 1: 'N M')")
    if n < 1 or m < 1:
        raise tokens.error(f"N = {n} columns and M = {m} rows must both be positive", line)
    dv_max, _ = tokens.next("the largest column weight (line 2: 'dv_max dc_max')")
    dc_max, line = tokens.next("the largest row weight (line 2: 'dv_max dc_max')")
    if not (0 <= dv_max <= m and 0 <= dc_max <= n):
        raise tokens.error(f"the largest weights {dv_max} (column) and {dc_max} (row) must lie in [0, M = {m}] and [0, N = {n}]", line)
    col_weights = _weights(tokens, n, dv_max, "column")
    row_weights = _weights(tokens, m, dc_max, "row")
    if sum(col_weights) != sum(row_weights):
        raise tokens.error(f"the column weights sum to {sum(col_weights)} ones but the row weights to {sum(row_weights)}")
    H = torch.zeros(m, n, dtype=torch.uint8)
    for j, (rows, _) in enumerate(_lists(tokens, col_weights, m, "column", "row")):
        H[[r - 1 for r in rows], j] = 1
    if tokens.at_end():
        return H  # the row section is optional: it repeats the column section
    for i, (cols, line) in enumerate(_lists(tokens, row_weights, n, "row", "column")):
        listed = sorted(c - 1 for c in cols)
        expected = torch.nonzero(H[i]).flatten().tolist()
        if listed != expected:
            raise tokens.error(f"row {i + 1} lists columns {[c + 1 for c in listed]} but the column section puts its ones in columns {[c + 1 for c in expected]}", line)
    if not tokens.at_end():
        value, line = tokens.next("")
        raise tokens.error(f"unexpected {value} after the last row's list (M = {m} rows)", line)
    return H


def read_alist(path: str | os.PathLike) -> torch.Tensor:
    """Read a parity-check matrix from an alist file (see the module notes for the variants read).

    Parameters
    ----------
    path : str or path-like
        The ``.alist`` file.

    Returns
    -------
    torch.Tensor, [M, N], uint8
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="ascii", errors="strict")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not an alist file (non-ASCII byte at offset {exc.start})") from None
    return parse_alist(text, source=str(path))


def _check_matrix(parity_check) -> torch.Tensor:
    H = torch.as_tensor(parity_check)
    if H.ndim != 2 or H.shape[0] < 1 or H.shape[1] < 1:
        raise ValueError(f"parity_check must be a 2-D [M, N] matrix, got shape {tuple(H.shape)}")
    if H.is_complex() or not bool(((H == 0) | (H == 1)).all()):
        raise ValueError("parity_check must hold only 0 and 1")
    return H.to(torch.uint8).cpu()


def format_alist(parity_check, *, pad: bool = True) -> str:
    """The alist text of a parity-check matrix.

    Parameters
    ----------
    parity_check : array-like, [M, N], {0, 1}
    pad : bool
        Pad each index list with zeros up to the largest weight (MacKay's own
        layout, which every reader accepts); ``False`` writes the bare lists.
    """
    H = _check_matrix(parity_check)
    m, n = H.shape
    cols = [torch.nonzero(H[:, j]).flatten().add(1).tolist() for j in range(n)]
    rows = [torch.nonzero(H[i]).flatten().add(1).tolist() for i in range(m)]
    dv_max = max(len(c) for c in cols)
    dc_max = max(len(r) for r in rows)

    def line(values: list[int], width: int) -> str:
        return " ".join(str(v) for v in values + ([0] * (width - len(values)) if pad else []))

    out = [f"{n} {m}", f"{dv_max} {dc_max}", " ".join(str(len(c)) for c in cols), " ".join(str(len(r)) for r in rows)]
    out += [line(c, dv_max) for c in cols] + [line(r, dc_max) for r in rows]
    return "\n".join(out) + "\n"


def write_alist(path: str | os.PathLike, parity_check, *, pad: bool = True) -> None:
    """Write a parity-check matrix as an alist file (:func:`format_alist`); :func:`read_alist` reads it back."""
    Path(path).write_text(format_alist(parity_check, pad=pad), encoding="ascii")
