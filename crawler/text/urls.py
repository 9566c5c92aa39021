r"""URL canonicalization and address checks: pure functions used by spiders and pipelines.

One article has one canonical URL, so the same story reached through a feed link with tracking
parameters, a mixed-case host, another spelling of the same bytes or a fragment is recognised
as known before it is downloaded again. The rules, in order (docs/how-it-works.md):

1. Repair what feeds get wrong and browsers forgive (WHATWG URL Standard, basic URL parser):
   surrounding whitespace, tabs and newlines inside, a doubled scheme (`http://http://`),
   any number of slashes or backslashes after the scheme (`http:/host`, `http:\\host`) and
   backslashes in the path.
2. RFC 3986 §6.2.2 syntax-based normalization: scheme and host lowercase, percent-encoding
   hex uppercase, percent-encoded unreserved characters decoded, dot segments removed; and
   §6.2.3: empty path as "/", default port dropped. RFC 3987 §3.1 (IRI to URI): characters
   that may not appear in a URI (non-ASCII, spaces...) percent-encoded as UTF-8, and an
   internationalized host in its IDNA form.
3. Fragment and tracking parameters dropped.

What can carry meaning stays as written: the case of the path, query parameter order,
reserved characters and their percent-encoding (`%2C` is not `,`, `%2F` is not `/`), `+`.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import unquote_plus, urlsplit, urlunsplit

import idna

__all__ = [
    "canonicalize",
    "ip_literal",
    "is_home_page",
    "is_public_address",
    "repair_url",
    "safe_href",
    "same_site",
    "without_password",
]

# Query parameters that only track the reader, never select content. Exact names, lowercase.
# From the lists of ClearURLs, Firefox's query stripping, AdGuard's tracking-parameter filter
# and courlan, less their guesses that can select content (`source`, `id`, `session`...).
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "ysclid",
        "twclid",
        "igshid",
        "srsltid",
        "wickedid",
        "rb_clickid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "__hssc",
        "__hstc",
        "__hsfp",
        "hsctatracking",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "vero_conv",
        "ml_subscriber",
        "ml_subscriber_hash",
        "__s",
        "_openstat",
        "ncid",
        "ocid",
        "cmpid",
        "cmp",
        "sr_share",
        "at_medium",
        "at_campaign",
        "ito",
        "xtor",
        "s_cid",
        "spm",
        "__twitter_impression",
        "rss",
        "ref",
        "referrer",
        "ref_src",
        "ref_url",
        "guccounter",
        "guce_referrer",
        "guce_referrer_sig",
        "_ga",
        "_gl",
        # news outlets' share and feed markers: Echobox (social posting), NYT, comScore
        "echobox",
        "smid",
        "smtyp",
        "ns_mchannel",
        "ns_source",
        "ns_campaign",
        "ns_linkname",
        "ns_fee",
        "soc_src",
        "soc_trk",
        "fb_action_ids",
        "fb_action_types",
        "fb_source",
        "fb_ref",
    }
)
# Parameter name prefixes that only track: utm_source, utm_medium, pk_campaign, mtm_kwd, ...
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hmb_", "itm_", "at_custom", "_branch")

DEFAULT_PORTS = {"http": 80, "https": 443}

# RFC 3986 §2.3 unreserved and §2.2 reserved characters; everything else is percent-encoded.
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_RESERVED = frozenset(":/?#[]@!$&'()*+,;=")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
# WHATWG URL Standard: tabs and newlines are removed anywhere; a special scheme is followed by
# any number of slashes or backslashes before the host. A doubled scheme is a CMS pasting an
# absolute link where a path was expected.
_TAB_NEWLINE = re.compile(r"[\t\n\r]")
_DOUBLED_SCHEME = re.compile(r"(?i)https?:[/\\]+(?=https?:[/\\])")
_SCHEME_SLASHES = re.compile(r"(?i)(https?):[/\\]*")
_HOST = re.compile(r"[a-z0-9._~!$&'()*+,;=-]+")  # RFC 3986 reg-name, after IDNA


def is_tracking_param(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def repair_url(url: str) -> str:
    r"""An absolute http(s) URL with the malformations browsers forgive repaired; anything else
    (a relative link, another scheme) only trimmed.

    Feed links are written by CMS templates: `http://http://host/a`, `http:/host/a`,
    `http:\\host\a`, a link wrapped over two lines. Call this before resolving a link
    against a base: `urljoin` takes `http:/host/a` for a path on the base's host.
    """
    url = _TAB_NEWLINE.sub("", url.strip())
    if not _SCHEME_SLASHES.match(url):
        return url
    url = _DOUBLED_SCHEME.sub("", url, count=1)
    match = _SCHEME_SLASHES.match(url)
    assert match is not None  # the doubled scheme's removal left the inner one
    rest = url[match.end() :]
    # Backslashes are slashes before the query (WHATWG: special URLs' path state).
    end = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    return f"{match[1]}://{rest[:end].replace(chr(92), '/')}{rest[end:]}"


def canonicalize(url: str) -> str:
    """The canonical form of an http(s) URL (module docstring: the rules).

    Idempotent: `canonicalize(canonicalize(u)) == canonicalize(u)`. Raises ValueError for
    anything that is not an absolute http(s) URL with a valid host.
    """
    parts = urlsplit(repair_url(url))
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    host = _host(parts.hostname.rstrip("."), url)  # hostname is already lowercased
    port = parts.port  # raises ValueError for a malformed port
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if parts.username or parts.password:
        userinfo = parts.username or ""
        if parts.password:
            userinfo += f":{parts.password}"
        netloc = f"{_normalize_percent(userinfo)}@{netloc}"
    path = _remove_dot_segments(_normalize_percent(parts.path)) or "/"
    # Filter the raw `name=value` pieces rather than decode and re-encode them: re-encoding
    # would turn "?123" into "?123=" or "%20" into "+", and some sites tell those apart.
    query = "&".join(
        piece
        for piece in _normalize_percent(parts.query).split("&")
        if piece and not is_tracking_param(unquote_plus(piece.partition("=")[0]))
    )
    return urlunsplit((scheme, netloc, path, query, ""))


def _host(host: str, url: str) -> str:
    if ":" in host:  # IPv6 literal
        return f"[{host}]"
    if not host.isascii():
        # IDNA 2008 with UTS #46 mapping, as browsers do: Python's own codec is IDNA 2003,
        # which turns "straße.de" into "strasse.de", another domain. Hosts IDNA 2008 refuses
        # (symbols: "i❤.ws") still resolve in browsers through the 2003 rules.
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError:
            try:
                host = host.encode("idna").decode("ascii")
            except UnicodeError:
                raise ValueError(f"not a valid host name: {url!r}") from None
    if not _HOST.fullmatch(host):
        raise ValueError(f"not a valid host name: {url!r}")
    return host


def _normalize_percent(component: str) -> str:
    """RFC 3986 §6.2.2.1-2 on one component: unreserved characters decoded, other escapes in
    uppercase hex, characters a URI may not hold percent-encoded as UTF-8 (RFC 3987 §3.1); a
    `%` that starts no escape is itself encoded. Reserved characters stay as they are."""
    out: list[str] = []
    i, end = 0, len(component)
    while i < end:
        char = component[i]
        if char == "%":
            match = _PERCENT.match(component, i)
            if match is None:
                out.append("%25")
            else:
                decoded = chr(int(match[1], 16))
                out.append(decoded if decoded in _UNRESERVED else f"%{match[1].upper()}")
                i += 3
                continue
        elif char in _UNRESERVED or char in _RESERVED:
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4, for an absolute path: "/a/./b/../c" is "/a/c"."""
    if "." not in path:
        return path
    output: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments[1:], start=1):
        last = index == len(segments) - 1
        if segment == "..":
            if len(output) > 0:
                output.pop()
            if last:
                output.append("")
        elif segment == ".":
            if last:
                output.append("")
        else:
            output.append(segment)
    return "/" + "/".join(output)


def is_home_page(url: str) -> bool:
    """True for a site's front page: path "/" or empty, no query (whatever the fragment)."""
    try:
        parts = urlsplit(repair_url(url))
    except ValueError:
        return False
    return parts.path in ("", "/") and not parts.query


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


def without_password(url: str) -> str:
    """A service's URL (a broker's) for logs and messages: its password replaced by ***."""
    scheme, separator, rest = url.partition("://")
    credentials, at, address = rest.rpartition("@")
    if not separator or not at or ":" not in credentials:
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{address}"


def safe_href(url: str | None) -> str | None:
    """`url` if it is an absolute http(s) URL, else None: scraped links are hostile
    (javascript:, data:, vbscript: ...)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url.strip()
