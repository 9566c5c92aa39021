"""lxml parser options for XML from the web (sitemaps, OPML): one place, so every parser of
hostile XML is hardened alike. No entity expansion (billion laughs) and no external entities
or DTDs (XXE), nothing fetched over the network, no huge-tree mode (libxml2's depth and size
limits stay on), and comments, processing instructions and ids, which newsmon never reads,
are dropped.
"""

from __future__ import annotations

__all__ = ["SAFE_XML_OPTIONS"]

SAFE_XML_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
    "collect_ids": False,
}
