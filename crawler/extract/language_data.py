"""Language data that extraction loads on first use, loaded here when this module is imported.

Part of the extract stage: py3langid's identifier (for the pages that declare no language;
about 0.7 s and 75 MB to load) and the stopwords of every language that trafilatura's
justext fallback builds at its first use (about 0.1 s and 27 MB). `crawler.extract.page`
imports this module for the first page that needs a language detected; the extraction fork
server (`crawler.extract.pool`) imports it before it forks the workers, so they share
one copy instead of loading one each.
"""

from __future__ import annotations

import trafilatura
from py3langid.langid import MODEL_FILE, LanguageIdentifier

__all__ = ["IDENTIFIER"]

# Normalized probabilities, so a low score means "cannot tell" rather than "short text".
IDENTIFIER = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)

# A page too short for trafilatura's own extractor sends it to its justext fallback, which
# builds the stopwords of every language and the set justext makes of them (both kept for
# the process): through the public API, not trafilatura's private initialisation function.
_SHORT_PAGE = "<html><body><article><p>Too short to be an article.</p></article></body></html>"
trafilatura.bare_extraction(_SHORT_PAGE, include_comments=False)
