"""URL canonicalization and address checks: pure functions used by spiders and pipelines.

One article has one canonical URL, so the same story reached through a feed link with tracking
parameters, a mixed-case host or a fragment is recognised as known before it is downloaded again.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import unquote_plus, urlsplit, urlunsplit

# Query parameters that only track the reader, never select content. Exact names, lowercase.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid",
        "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id",
        "vero_conv", "ncid", "ocid", "cmpid", "sr_share", "at_medium", "at_campaign", "ito",
        "s_cid", "spm", "__twitter_impression", "rss", "ref_src", "ref_url", "guccounter",
        "guce_referrer", "guce_referrer_sig", "_ga", "_gl",
    }
)  # fmt: skip
# Parameter name prefixes that only track: utm_source, utm_medium, pk_campaign, mtm_kwd, ...
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hmb_", "at_custom", "_branch")

DEFAULT_PORTS = {"http": 80, "https": 443}


def is_tracking_param(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def canonicalize(url: str) -> str:
    """The canonical form of an http(s) URL.

    Lowercases scheme and host, drops the default port, the fragment and tracking parameters,
    keeps every other query parameter in its order (order can be meaningful to a CMS), and gives
    an empty path as "/". Raises ValueError for anything that is not an absolute http(s) URL.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    host = parts.hostname.rstrip(".")  # hostname is already lowercased
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port  # raises ValueError for a malformed port
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if parts.username or parts.password:
        userinfo = parts.username or ""
        if parts.password:
            userinfo += f":{parts.password}"
        netloc = f"{userinfo}@{netloc}"
    # Filter the raw `name=value` pieces rather than decode and re-encode them: re-encoding
    # would turn "?123" into "?123=" or "%20" into "+", and some sites tell those apart.
    query = "&".join(
        piece
        for piece in parts.query.split("&")
        if piece and not is_tracking_param(unquote_plus(piece.partition("=")[0]))
    )
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def same_site(url_a: str, url_b: str) -> bool:
    """True when both URLs are on one host, or one host is a subdomain of the other."""
    host_a = (urlsplit(url_a).hostname or "").rstrip(".")
    host_b = (urlsplit(url_b).hostname or "").rstrip(".")
    if not host_a or not host_b:
        return False
    short, long = sorted((host_a, host_b), key=len)
    return long == short or (long.endswith("." + short) and "." in short)


def is_public_address(address: str) -> bool:
    """False for loopback, private, link-local, multicast, reserved and unspecified addresses."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def ip_literal(host: str) -> str | None:
    """The address when `host` is an IP literal (IPv6 in brackets or not), else None."""
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None
