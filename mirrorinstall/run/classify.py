"""Why did conda, pip or uv fail: the mirror's fault (try the next mirror) or the request's
(fail now)? Pure: exit code and output text in, a verdict out.

The patterns come from real transcripts of each client against a faulty mirror
(``../shared/recorded``, see its README for every case and the decision it calls for):

- mirror faults: connection refused or timed out, 403/WAF pages, HTML (a captive portal or
  "maintenance" page) where repodata or a simple page was expected, a channel the mirror does
  not carry, an index listing a file that 404s (out of sync), a checksum mismatch, a body cut
  short, 5xx answers;
- request faults: a package that exists nowhere, an unsatisfiable set of requirements;
- conda's "not in the channels" (``PackagesNotFoundInChannelsError``) is ``missing``: the
  mirror's copy may lag, so another mirror of the channel is tried before it is called the
  request's fault;
- conda's prompt answered "n" exits 0 with ``CondaSystemExit: Exiting.``: ``declined``,
  nothing was installed.

Each verdict keeps the output line it was read from (``evidence``), which usually names the
URL or host that failed (``fallback.blame`` reads it).

pip prints the same "from versions: none" for a 403, a portal page, a timeout with
``--retries 0`` and a project that really is missing; only its debug log (``--log FILE``,
which minstall adds) tells them apart, so ``log`` is read when given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OK, MIRROR, USER, UNKNOWN = "ok", "mirror", "user", "unknown"
MISSING, DECLINED = "missing", "declined"


@dataclass(frozen=True)
class Verdict:
    # ok | declined (exit 0, nothing installed) | mirror (retry on another) | missing (retry on
    # another mirror of the channel, else the request's fault) | user (fail now) | unknown
    kind: str
    reason: str
    evidence: str | None = None  # the output line the verdict was read from

    @property
    def retry(self) -> bool:
        return self.kind in (MIRROR, MISSING)


def _first(pattern: str, text: str) -> str | None:
    match = re.search(pattern, text, re.M)
    return match.group(0) if match else None


def _line(pattern: str, text: str) -> str | None:
    """The last line of ``text`` that ``pattern`` matches (the error usually comes last)."""
    found = None
    for line in text.splitlines():
        if re.search(pattern, line):
            found = line.strip()
    return found


def classify(tool: str, exit_code: int, output: str, log: str = "") -> Verdict:
    """``tool``: conda/mamba/micromamba, pip, or uv."""
    if tool in ("conda", "mamba", "micromamba"):
        if exit_code == 0 and "CondaSystemExit: Exiting." in output:
            return Verdict(
                DECLINED, "the prompt was answered no; nothing was installed", "CondaSystemExit"
            )
        if exit_code == 0:
            return Verdict(OK, "success")
        verdict = _conda(output)
    elif exit_code == 0:
        return Verdict(OK, "success")
    elif tool == "uv":
        verdict = _uv(exit_code, output)
    else:
        verdict = _pip(output, log)
    return _with_evidence(verdict, output + "\n" + log)


# The line that names the culprit, per verdict reason (first pattern that has a line wins)
_EVIDENCE = (
    r"for url <|for channel \S+ <",  # conda
    r"Could not fetch URL|while getting|HTTPConnectionPool\(host=",  # pip
    r"Failed to fetch|error sending request|Request failed",  # uv
    r"https?://",
)


def _with_evidence(verdict: Verdict, text: str) -> Verdict:
    if verdict.kind not in (MIRROR, MISSING) or verdict.evidence:
        return verdict
    for pattern in _EVIDENCE:
        line = _line(pattern, text)
        if line:
            return Verdict(verdict.kind, verdict.reason, line)
    return verdict


def _conda(out: str) -> Verdict:
    if "ChecksumMismatchError" in out:
        return Verdict(MIRROR, "a downloaded package did not match its checksum (corrupt copy)")
    if "UnavailableInvalidChannel" in out:
        name = _first(r"(?<=for channel )\S+", out) or "a channel"
        return Verdict(MIRROR, f"the mirror does not carry {name} (404 on its repodata)")
    if "HTTP 000 CONNECTION FAILED" in out or '"status_code": "000"' in out:
        why = (
            "read timeout"
            if re.search(r"Read ?timed out|ReadTimeoutError", out)
            else "connection failed"
        )
        return Verdict(MIRROR, f"{why} talking to the mirror")
    if "JSONDecodeError" in out or "Could not decompress" in out:
        return Verdict(MIRROR, "the mirror served an HTML page where repodata.json was expected")
    match = re.search(r"CondaHTTPError: HTTP (\d{3})", out) or re.search(
        r'"status_code": (\d{3})', out
    )
    if match:
        code = int(match.group(1))
        if code == 404:
            return Verdict(
                MIRROR, "the mirror's index lists a package file that answers 404 (out of sync)"
            )
        return Verdict(MIRROR, f"the mirror answered HTTP {code}")
    virtual = re.search(r"^\s*- (__(?:cuda|glibc|osx|win|linux|unix)\S*)", out, re.M)
    if "PackagesNotFound" in out and virtual:
        # no mirror carries a virtual package: it is the machine (conda's __cuda is the driver)
        return Verdict(
            USER,
            f"this machine lacks {virtual.group(1)} (a virtual package: for __cuda, the NVIDIA "
            "driver or CONDA_OVERRIDE_CUDA)",
        )
    if "PackagesNotFoundInChannelsError" in out:
        return Verdict(MISSING, "a requested package is not in this mirror's copy of the channels")
    if "PackagesNotFoundError" in out:
        return Verdict(USER, "a requested package is not in the channels")
    if "UnsatisfiableError" in out or "LibMambaUnsatisfiableError" in out:
        # conda 26's classic solver names a virtual package only in its progress lines
        # ("Examining conflict for jax __cuda jaxlib") when the CUDA build is a dependency
        if re.search(r"Examining conflict for [^\r\n:]*__cuda\b", out):
            return Verdict(
                USER,
                "the requested packages conflict with this machine's __cuda (the CUDA build "
                "asked for needs a newer NVIDIA driver, or CONDA_OVERRIDE_CUDA)",
            )
        return Verdict(USER, "the requested packages conflict")
    return Verdict(UNKNOWN, "conda failed for a reason minstall does not recognise")


def _pip(out: str, log: str) -> Verdict:
    both = out + "\n" + log
    if "THESE PACKAGES DO NOT MATCH THE HASHES" in out:
        return Verdict(MIRROR, "a downloaded file did not match its hash (corrupt copy)")
    if re.search(r"HTTP error 404 while getting", out):
        return Verdict(MIRROR, "the index lists a file that answers 404 (out of sync)")
    if "IncompleteRead" in out or "not enough bytes were received" in out:
        return Verdict(MIRROR, "the mirror closed or stalled a download mid-file")
    if re.search(r"Could not fetch URL \S+: 403 Client Error", both) or re.search(
        r"403 Client Error: Forbidden", both
    ):
        return Verdict(MIRROR, "the mirror answered 403 Forbidden (a WAF or anti-abuse block)")
    if re.search(r"didn't respond within|Read timed out|ReadTimeoutError", both):
        return Verdict(MIRROR, "the mirror did not answer in time (read timeout)")
    if re.search(r"Connection refused|Failed to establish a new connection|connection error", both):
        return Verdict(MIRROR, "the mirror refused the connection")
    if re.search(r"too many 5\d\d error responses|5\d\d Server Error", both):
        return Verdict(MIRROR, "the mirror answered with server errors (5xx)")
    if "from versions: none" in out:
        if "Skipping link: No sources permitted for" in log and "Found link" not in log:
            # pip's LinkEvaluator: the index has only sdists, and --only-binary refuses them
            return Verdict(
                USER,
                "the index has only source distributions of it, and --only-binary (or "
                "--prefer-binary's settings) refuses them",
            )
        if re.search(r"Could not fetch URL \S+: 404 Client Error", log):
            return Verdict(USER, "the project is not on the index (404)")
        if (
            "Fetched page" in log
            and "Skipping link: not a file" in log
            and not re.search(r"Found link", log)
        ):
            return Verdict(
                MIRROR,
                "the index served a page with no files (a captive portal or maintenance page?)",
            )
        if not log:
            return Verdict(
                UNKNOWN,
                "no version found; pip's console does not say why (run "
                "with --log to tell a blocked mirror from a missing project)",
            )
        return Verdict(USER, "no version of the project is available for this Python/platform")
    if re.search(r"ResolutionImpossible|conflicting dependencies|No matching distribution", out):
        return Verdict(USER, "the requirements cannot be satisfied")
    return Verdict(UNKNOWN, "pip failed for a reason minstall does not recognise")


def _uv(exit_code: int, out: str) -> Verdict:
    if "Hash mismatch" in out:
        return Verdict(MIRROR, "a downloaded file did not match its hash (corrupt copy)")
    if re.search(r"returned a 403 Forbidden", out):
        return Verdict(MIRROR, "the index answered 403 Forbidden (a WAF or anti-abuse block)")
    if re.search(r"HTTP status client error \(404", out):
        return Verdict(MIRROR, "the index lists a file that answers 404 (out of sync)")
    if re.search(r"HTTP status server error \(5\d\d", out):
        return Verdict(MIRROR, "the index answered with server errors (5xx)")
    if re.search(r"Connection refused|operation timed out|error sending request|tcp connect", out):
        return Verdict(MIRROR, "the index could not be reached (refused or timed out)")
    if "was not found in the package registry" in out:
        return Verdict(USER, "the project is not on the index")
    if re.search(r"there are no versions of", out):
        return Verdict(
            MIRROR,
            "the index served a page with no versions (a captive portal or maintenance page?)",
        )
    if "unsatisfiable" in out:
        return Verdict(USER, "the requirements cannot be satisfied")
    if exit_code == 2:
        return Verdict(MIRROR, "uv failed on the network (exit code 2)")
    return Verdict(UNKNOWN, "uv failed for a reason minstall does not recognise")


def wrong_hash_given(out: str, verified: set[str]) -> Verdict | None:
    """pip's hash-mismatch error when every file it got had been verified against the index's
    own sha256 (the loopback index hands over nothing else): the ``--hash`` the user gave is
    wrong, not the mirror's copy, and no other mirror would change that. None otherwise."""
    if "DO NOT MATCH THE HASHES" not in out:
        return None
    got = re.findall(r"Got\s+([0-9a-f]{64})", out)
    if not got or not set(got) <= verified:
        return None
    return Verdict(
        USER,
        "the file matches the index's sha256 but not the --hash given for it (a wrong or "
        "outdated hash in the requirements; pip's message lists both)",
    )
