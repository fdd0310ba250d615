"""Identity strings from the spec, typed and checked: SANs, DNS names (A-labels decoded), CRL URLs,
durations, control characters.

Pure functions with no I/O; each raises ValueError with the sentence the user will read.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

import idna

if TYPE_CHECKING:
    from cryptography import x509

SanKind = Literal["DNS", "IP", "URI", "email"]

_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")  # fullmatch: `$` would let a trailing newline in
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL and C1: Unicode's category Cc
# What a label of an IDN may hold once decoded (IDNA 2008's PVALID, approximately): lower-case and
# other caseless letters, combining marks, digits and the hyphen. Upper case, spaces, punctuation,
# symbols and controls decode from punycode too, but no registry issues them.
_U_LABEL_CATEGORIES = frozenset({"Ll", "Lo", "Lm", "Mn", "Mc", "Nd"})
_JOINERS = frozenset("-\u200c\u200d")
_PREFIXES: dict[str, SanKind] = {"dns": "DNS", "ip": "IP", "uri": "URI", "email": "email"}
_DURATION = re.compile(r"^([1-9][0-9]{0,6})([hdwy])$")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1),
          "y": timedelta(days=365)}


@dataclass(frozen=True, order=True)
class San:
    """One subjectAltName, as `kind:value` with the value in its canonical form."""

    kind: SanKind
    value: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


def control_character(text: str) -> str | None:
    """The first control character in `text` (U+0000–U+001F, U+007F–U+009F) spelled `U+000A`, or None."""
    found = _CONTROL.search(text)
    return f"U+{ord(found.group()):04X}" if found else None


def _a_label(label: str) -> str | None:
    """Why `xn--…` is not a real A-label (punycode that decodes to a valid IDN label), or None."""
    encoded = label[4:]
    try:
        decoded = encoded.encode("ascii").decode("punycode")
    except UnicodeError:
        return "is not valid punycode"
    if decoded.isascii():
        return "decodes to an ASCII label, which is never written as punycode"
    if decoded.encode("punycode").decode("ascii") != encoded:
        return "is not punycode in its canonical form"
    # ZERO WIDTH (NON-)JOINER are allowed in context (IDNA 2008's CONTEXTJ): _idna_2008_label checks it.
    bad = next((c for c in decoded if c not in _JOINERS and unicodedata.category(c) not in _U_LABEL_CATEGORIES),
               None)
    if bad is not None:
        return f"decodes to a label holding U+{ord(bad):04X}, which a DNS name cannot hold"
    if not unicodedata.is_normalized("NFC", decoded):
        return "decodes to a label that is not in Unicode normal form C"
    return None


def _idna_2008(text: str, name: str) -> str:
    """An internationalised name as A-labels: IDNA 2008 with UTS #46 mapping, non-transitional (as browsers).

    `straße.de` is `xn--strae-oqa.de` (IDNA 2003 made it `strasse.de`, another host); symbols and emoji
    (`☃.net`) are refused, as are labels breaking IDNA 2008's bidi and context rules.
    """
    wildcard, rest = ("*.", name[2:]) if name.startswith("*.") else ("", name)
    try:
        return wildcard + idna.encode(rest, uts46=True, transitional=False).decode("ascii")
    except idna.IDNAError as exc:
        reason = re.sub(r" at position \d+ (of|in) '[^']*'", "", str(exc)).replace("Codepoint ", "")
        raise ValueError(f"{text!r} is not a valid internationalised DNS name under IDNA 2008 ({reason})") from None


def _idna_2008_label(label: str) -> str | None:
    """Why an A-label breaks IDNA 2008 (bidi, context rules, disallowed code points), or None."""
    try:
        idna.decode(label)
    except idna.IDNAError as exc:
        return f"is not valid under IDNA 2008 ({exc})"
    return None


def dns_name(text: str) -> str:
    """Canonical DNS name (lowercase, IDN as punycode), wildcard only as the whole first label."""
    name = text.rstrip(".") if text.endswith(".") and not text.endswith("..") else text
    ascii_name = name if name.isascii() else _idna_2008(text, name)
    ascii_name = ascii_name.lower()
    if len(ascii_name) > 253:
        raise ValueError(f"{text!r} is longer than 253 characters")
    labels = ascii_name.split(".")
    if labels[0] == "*":
        if len(labels) < 3:
            raise ValueError(f"{text!r}: a wildcard needs at least two labels after it (*.example.com)")
        labels = labels[1:]
    for label in labels:
        if "*" in label:
            raise ValueError(f"{text!r}: a wildcard may only be the whole first label (*.example.com)")
        if len(label) > 63:
            raise ValueError(f"{text!r}: the label {label[:12]}… is longer than 63 characters")
        if not _LABEL.fullmatch(label):
            raise ValueError(f"{text!r} is not a DNS name, IP address, URI or e-mail address")
        if label.startswith("xn--"):
            problem = _a_label(label) or _idna_2008_label(label)
            if problem is not None:
                raise ValueError(f"{text!r}: the label {label!r} {problem}")
    return ascii_name


def _uri(text: str) -> str:
    if not text.isascii():
        # A certificate holds URIs as ASCII (RFC 5280 4.2.1.6): an IDN host must be written as punycode.
        raise ValueError(f"{text!r}: a URI in a certificate is ASCII; write an international host as "
                         "punycode (xn--…)")
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid URI ({exc})") from None
    if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*$", parts.scheme or "") or any(c.isspace() for c in text):
        raise ValueError(f"{text!r} is not a valid URI")
    if "://" in text and not host:
        raise ValueError(f"{text!r} is a URI without a host")
    return text


def crl_url(text: str) -> str:
    """A CRL distribution point: an absolute http, https or ldap URI with a host, in ASCII."""
    shown = text if len(text) <= 80 else text[:77] + "..."
    if not re.match(r"(?i)(https?|ldap)://", text):
        raise ValueError(f"{shown!r} is not an absolute http, https or ldap URL (like "
                         "http://pki.example.com/ca.crl)")
    if not text.isascii() or any(c.isspace() for c in text) or control_character(text):
        raise ValueError(f"{shown!r} is not a URL: it must be ASCII, without spaces or control characters "
                         "(write an international host as punycode, xn--…)")
    try:
        parts = urlsplit(text)
        host, _port = parts.hostname, parts.port
    except ValueError as exc:
        raise ValueError(f"{shown!r} is not a valid URL ({exc})") from None
    if not host:
        raise ValueError(f"{shown!r} is a URL without a host")
    if not _is_host(host):
        raise ValueError(f"{shown!r}: the host {host!r} is not a DNS name or IP address")
    return text


def _is_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        name = dns_name(host)
    except ValueError:
        return False
    return not name.startswith("*") and not name.rpartition(".")[2].isdigit()


def _email(text: str) -> str:
    local, at, domain = text.rpartition("@")
    if not at or not local or "@" in local or any(c.isspace() or c in "<>()[],;:\"" for c in local):
        raise ValueError(f"{text!r} is not a valid e-mail address")
    if not local.isascii():
        # RFC 5280 rfc822Name is ASCII; internationalised mailboxes need SmtpUTF8Mailbox, not supported.
        raise ValueError(f"{text!r}: the part before @ must be ASCII in a certificate")
    try:
        return f"{local}@{dns_name(domain)}"
    except ValueError:
        raise ValueError(f"{text!r} is not a valid e-mail address") from None


def _ip(text: str) -> str:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address") from None
    return _storable(text, address)


def _storable(text: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """The address as a certificate holds it: 4 or 16 bytes, so an IPv6 zone id cannot be kept."""
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        bare = str(address).rpartition("%")[0]
        raise ValueError(f"{text!r}: a zone id (%{address.scope_id}) names a local interface and cannot "
                         f"be in a certificate; write {bare}")
    return str(address)


def parse_san(text: str) -> San:
    """Type a SAN by its form (IP, `://` URI, `@` e-mail, else DNS) or by a forced prefix."""
    san = _typed_san(text.strip())
    if san.kind != "email" and san.value.isascii():
        # cryptography's DNS, IP and URI names refuse only non-ASCII text: skip importing it (validate).
        return san
    try:
        general_name(san)  # what the certificate builder will be given: refuse here what it would
    except ValueError as exc:
        raise ValueError(f"{text!r} cannot be put in a certificate ({exc})") from None
    return san


def _typed_san(text: str) -> San:
    prefix, colon, rest = text.partition(":")
    kind = _PREFIXES.get(prefix.lower()) if colon else None
    if kind is not None and not rest.startswith("//"):  # `dns://…` or `ip://…` is a URI, not a prefix
        return San(kind, _PARSERS[kind](rest.strip()))
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        return San("IP", _storable(text, address))
    if "://" in text:
        return San("URI", _uri(text))
    if "@" in text:
        return San("email", _email(text))
    name = dns_name(text)
    if name.rpartition(".")[2].isdigit():
        # 999.1.1.1 or 1.2.3: a mistyped address, not a host name (no top-level domain is numeric).
        raise ValueError(f"{text!r} is not a valid IP address, and a DNS name cannot end in a number")
    return San("DNS", name)


_PARSERS = {"DNS": dns_name, "IP": _ip, "URI": _uri, "email": _email}


def parse_duration(text: str) -> timedelta:
    """`<n>h`, `<n>d`, `<n>w` or `<n>y` (365 days) as a timedelta."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration like 12h, 90d, 2w or 10y")
    return int(match.group(1)) * _UNITS[match.group(2)]


def format_duration(delta: timedelta) -> str:
    """The shortest exact spelling of a duration, the inverse of parse_duration where one exists."""
    seconds = int(delta.total_seconds())
    for unit, size in (("y", 365 * 86400), ("w", 7 * 86400), ("d", 86400), ("h", 3600)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    days = delta.total_seconds() / 86400
    return f"{days:.1f}d"


# cryptography.x509 is imported inside these two (~25 ms): `mtlsgen validate` never needs it.
def general_name(san: San) -> x509.GeneralName:
    from cryptography import x509

    if san.kind == "DNS":
        return x509.DNSName(san.value)
    if san.kind == "IP":
        return x509.IPAddress(ipaddress.ip_address(san.value))
    if san.kind == "URI":
        return x509.UniformResourceIdentifier(san.value)
    return x509.RFC822Name(san.value)


def san_of(general: x509.GeneralName) -> San:
    from cryptography import x509

    if isinstance(general, x509.DNSName):
        return San("DNS", general.value)
    if isinstance(general, x509.IPAddress):
        return San("IP", str(general.value))
    if isinstance(general, x509.UniformResourceIdentifier):
        return San("URI", general.value)
    if isinstance(general, x509.RFC822Name):
        return San("email", general.value)
    return San("DNS", f"<unsupported {type(general).__name__}>")
