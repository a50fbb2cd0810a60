"""Text files read as the tools that own them read them, and written back in the same form.
Pure.

Users' files come in the encodings Windows makes: ``pip freeze > requirements.txt`` in
Windows PowerShell 5.1 writes UTF-16 with a byte-order mark; Notepad on a Chinese Windows
saves GBK (code page 936); pip.ini and .condarc are often in the ANSI code page. Demanding
UTF-8 refused files pip and conda read, and a file re-saved as UTF-8 to please us then broke
pip and conda. So each file is decoded by its owner's rule, and what minstall writes from it
(a rewritten copy, the edited file) goes back in the same encoding, byte-order mark and line
endings (the text keeps its ``\\r\\n``: nothing here translates newlines).

- requirements files, pip's rule (pip 26.3, ``pip/_internal/req/req_file.py``
  ``_decode_req_file``): a byte-order mark's encoding (UTF-8, UTF-32, UTF-16, in that order:
  UTF-16-LE's mark starts UTF-32-LE's), else a PEP 263 ``coding:`` comment on one of the first
  two lines, else UTF-8, else the locale's encoding (pip 23 tried the locale's before UTF-8;
  a GBK file reads the same either way). conda's ``--file`` and environment files are read
  the same way here: conda reads them with ``open()``, the locale's encoding, and a UTF-8 file
  with Chinese comments that fails there fails in conda too.
- ``pip.ini``/``pip.conf`` (``pip/_internal/configuration.py``: UTF-8 in Python's UTF-8 mode,
  else the locale's encoding) and ``.condarc`` (``conda/common/configuration.py``:
  ``open(filepath)``, the locale's encoding): :func:`decode_locale_file`, which also honours
  a UTF-8 byte-order mark (kept on write).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

# (mark, the codec that reads what follows it), pip's order
BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)
_PEP263 = re.compile(rb"coding[:=]\s*([-\w.]+)")


@dataclass(frozen=True)
class TextForm:
    """How a file's text was stored: its codec and byte-order mark."""

    encoding: str = "utf-8"
    bom: bytes = b""

    def encode(self, text: str) -> bytes:
        """``text`` in this form; raises UnicodeEncodeError for a character it cannot hold."""
        return self.bom + text.encode(self.encoding)

    @property
    def label(self) -> str:
        return self.encoding + (" with a byte-order mark" if self.bom else "")


def _codec(name: str) -> str:
    return codecs.lookup(name).name


def decode_requirements(data: bytes, locale_encoding: str) -> tuple[str, TextForm]:
    """A requirements file's text and form, as pip reads it; UnicodeDecodeError (or
    LookupError for an unknown ``coding:``) where pip fails too."""
    for bom, encoding in BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding), TextForm(encoding, bom)
    for line in data.split(b"\n")[:2]:
        if line[:1] == b"#" and (found := _PEP263.search(line)) is not None:
            encoding = _codec(found.group(1).decode("ascii"))
            return data.decode(encoding), TextForm(encoding)
    try:
        return data.decode("utf-8"), TextForm("utf-8")
    except UnicodeDecodeError:
        encoding = _codec(locale_encoding or "utf-8")
        return data.decode(encoding), TextForm(encoding)


def decode_locale_file(data: bytes, locale_encoding: str) -> tuple[str, TextForm]:
    """A configuration file read with ``open()``'s default, the locale's encoding (a UTF-8
    byte-order mark read as such); UnicodeDecodeError where the tool fails too."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8"), TextForm("utf-8", codecs.BOM_UTF8)
    encoding = _codec(locale_encoding or "utf-8")
    return data.decode(encoding), TextForm(encoding)
