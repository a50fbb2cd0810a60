"""A child's output bytes as text, in the encoding the child wrote them in. Pure.

pip, uv and conda write UTF-8 when asked (minstall asks Python children with
``PYTHONIOENCODING=utf-8`` under Windows' rules), but not everything a child prints is
theirs: cmd's own messages (``'conda' 不是内部或外部命令``), a compiler's, or a Python run
without that variable write in the console's or the ANSI code page (cp936 on a Chinese
Windows, GBK in a zh_CN.GBK locale). Decoding those as UTF-8 turns every Chinese character
into a replacement character. So: UTF-8 when the bytes are UTF-8 (a stray byte sequence of
another code page almost never is), else the ``fallback`` code page.
"""

from __future__ import annotations

import codecs

_CONTINUATION = range(0x80, 0xC0)


def decode_output(data: bytes, fallback: str) -> str:
    """``data`` as text: UTF-8 if it is, else ``fallback`` (undecodable bytes replaced). A
    UTF-8 character cut at either end (a tail taken from the middle of a stream) does not
    count against UTF-8."""
    start = 0
    while start < min(3, len(data)) and data[start] in _CONTINUATION:
        start += 1
    body = data[start:]
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data" and exc.end == len(body):
            return body[: exc.start].decode("utf-8")
    return data.decode(_known(fallback), errors="replace")


class OutputDecoder:
    """Incremental :func:`decode_output` for a stream read in chunks: UTF-8 until a chunk is
    not, then ``fallback`` for the rest of the stream (one program writes one encoding)."""

    def __init__(self, fallback: str) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._other = codecs.getincrementaldecoder(_known(fallback))(errors="replace")
        self._fell_back = False

    def feed(self, data: bytes, final: bool = False) -> str:
        if not self._fell_back:
            pending = self._utf8.getstate()[0]
            try:
                return self._utf8.decode(data, final)
            except UnicodeDecodeError:
                self._fell_back = True
                data = pending + data
        return self._other.decode(data, final)


def _known(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return "utf-8"


def decode_log(data: bytes, fallback: str, bom: bytes = b"") -> str:
    """A saved log as text: in the encoding its byte-order mark names (``bom``: the file's
    first bytes, when ``data`` is its tail; PowerShell 5.1's ``> log.txt`` writes UTF-16),
    else as :func:`decode_output` reads a child's output."""
    from mirrorinstall.core.textcodec import BOMS

    for mark, encoding in BOMS:
        if bom.startswith(mark) or (not bom and data.startswith(mark)):
            # a tail taken an even number of bytes before the end starts on a code unit
            body = data[len(mark) :] if data.startswith(mark) else data
            return body.decode(encoding, errors="replace")
    return decode_output(data, fallback)
