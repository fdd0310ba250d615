"""SAN typing and durations: what a string in `sans:` or `validity:` becomes in the certificate."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from mtlsgen.spec.names import San, dns_name, format_duration, parse_duration, parse_san


@pytest.mark.parametrize(("text", "kind", "value"), [
    # IP addresses, normalised
    ("127.0.0.1", "IP", "127.0.0.1"),
    ("10.1.2.3", "IP", "10.1.2.3"),
    ("::1", "IP", "::1"),
    ("2001:0db8:0000:0000:0000:0000:0000:0001", "IP", "2001:db8::1"),
    ("FE80::ABCD", "IP", "fe80::abcd"),
    # DNS names, lowercased, IDN as punycode, wildcard as the whole first label
    ("api.example.com", "DNS", "api.example.com"),
    ("localhost", "DNS", "localhost"),
    ("API.Example.COM", "DNS", "api.example.com"),
    ("example.com.", "DNS", "example.com"),
    ("*.x.example.com", "DNS", "*.x.example.com"),
    ("bücher.example", "DNS", "xn--bcher-kva.example"),
    ("*.bücher.example", "DNS", "*.xn--bcher-kva.example"),
    ("a" * 63 + ".example", "DNS", "a" * 63 + ".example"),
    # URIs, kept as written
    ("spiffe://example.com/ns/default/sa/alice", "URI", "spiffe://example.com/ns/default/sa/alice"),
    ("https://api.example.com/x", "URI", "https://api.example.com/x"),
    ("dns://resolver.example", "URI", "dns://resolver.example"),
    # e-mail, domain canonical
    ("alice@example.com", "email", "alice@example.com"),
    ("Alice@Bücher.Example", "email", "Alice@xn--bcher-kva.example"),
    # forced types
    ("DNS:api.example.com", "DNS", "api.example.com"),
    ("DNS:1.2.3.4", "DNS", "1.2.3.4"),
    ("dns:Host.Example", "DNS", "host.example"),
    ("IP:10.0.0.1", "IP", "10.0.0.1"),
    ("ip:::1", "IP", "::1"),
    ("URI:spiffe://example.com/alice", "URI", "spiffe://example.com/alice"),
    ("URI:urn:example:alice", "URI", "urn:example:alice"),
    ("email:bob@example.com", "email", "bob@example.com"),
    ("  padded.example  ", "DNS", "padded.example"),
])
def test_san_is_typed_by_its_form(text: str, kind: str, value: str) -> None:
    san = parse_san(text)
    assert san == San(kind, value)  # type: ignore[arg-type]
    assert str(san) == f"{kind}:{value}"


@pytest.mark.parametrize(("text", "reason"), [
    ("*.*.x", "wildcard may only be the whole first label"),
    ("a.*.example.com", "wildcard may only be the whole first label"),
    ("*api.example.com", "wildcard may only be the whole first label"),
    ("*.com", "a wildcard needs at least two labels"),
    ("a..b", "is not a DNS name"),
    ("-a.com", "is not a DNS name"),
    ("a-.com", "is not a DNS name"),
    ("exa mple.com", "is not a DNS name"),
    ("under_score.example", "is not a DNS name"),
    ("a" * 64 + ".example", "longer than 63 characters"),
    (".".join(["a" * 60] * 5), "longer than 253 characters"),
    ("http://", "is a URI without a host"),
    ("https:///path", "is a URI without a host"),
    ("spiffe://exa mple/x", "is not a valid URI"),
    ("bob@", "is not a valid e-mail address"),
    ("b ob@example.com", "is not a valid e-mail address"),
    ("bob@exa mple.com", "is not a valid e-mail address"),
    ("IP:notanip", "'notanip' is not an IP address"),
    ("IP:api.example.com", "is not an IP address"),
    ("DNS:a b", "is not a DNS name"),
    ("email:not-an-address", "is not a valid e-mail address"),
    ("", "is not a DNS name"),
])
def test_bad_san_is_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        parse_san(text)


def test_dns_name_names_the_input_in_its_error() -> None:
    with pytest.raises(ValueError, match="'Exa Mple'"):
        dns_name("Exa Mple")


@pytest.mark.parametrize("text", ["fe80::1%eth0", "IP:fe80::1%eth0", "ip:fe80::1%2"])
def test_ipv6_zone_id_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"zone id \(%\w+\) .*cannot be in a certificate; write fe80::1$"):
        parse_san(text)


@pytest.mark.parametrize("text", ["999.1.1.1", "256.256.256.256", "1.2.3", "10.0.0.300", "8443"])
def test_mistyped_address_is_not_taken_for_a_dns_name(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(
            f"{text!r} is not a valid IP address, and a DNS name cannot end in a number")):
        parse_san(text)


def test_forced_dns_prefix_still_takes_a_numeric_name() -> None:
    assert parse_san("DNS:1.2.3.4") == San("DNS", "1.2.3.4")
    assert parse_san("DNS:1.2.3") == San("DNS", "1.2.3")
    assert parse_san("a1.example.com2") == San("DNS", "a1.example.com2")


def test_sans_sort_and_compare_by_canonical_value() -> None:
    assert parse_san("API.example.com") == parse_san("api.example.com")
    assert parse_san("::1") == parse_san("0:0:0:0:0:0:0:1")
    assert parse_san("DNS:1.2.3.4") != parse_san("1.2.3.4")
    assert sorted([parse_san("b.example"), parse_san("a.example")]) == [San("DNS", "a.example"),
                                                                       San("DNS", "b.example")]


@pytest.mark.parametrize(("text", "delta"), [
    ("12h", timedelta(hours=12)),
    ("1h", timedelta(hours=1)),
    ("90d", timedelta(days=90)),
    ("365d", timedelta(days=365)),
    ("2w", timedelta(weeks=2)),
    ("1y", timedelta(days=365)),
    ("10y", timedelta(days=3650)),
    (" 30d ", timedelta(days=30)),
])
def test_parse_duration(text: str, delta: timedelta) -> None:
    assert parse_duration(text) == delta


@pytest.mark.parametrize("text", ["90", "90 days", "0d", "-1d", "1.5d", "10Y", "d", "", "1m", "12hours",
                                  "1d2h", "01d", "12345678d"])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration like 12h, 90d, 2w or 10y"):
        parse_duration(text)


@pytest.mark.parametrize(("delta", "text"), [
    (timedelta(hours=12), "12h"),
    (timedelta(hours=36), "36h"),
    (timedelta(days=1), "1d"),
    (timedelta(days=90), "90d"),
    (timedelta(days=14), "2w"),
    (timedelta(days=365), "1y"),
    (timedelta(days=3650), "10y"),
    (timedelta(days=730), "2y"),
])
def test_format_duration(delta: timedelta, text: str) -> None:
    assert format_duration(delta) == text


@pytest.mark.parametrize("text", ["12h", "90d", "2w", "10y", "36h", "365d", "7d"])
def test_format_duration_round_trips(text: str) -> None:
    assert parse_duration(format_duration(parse_duration(text))) == parse_duration(text)
