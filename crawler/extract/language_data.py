"""Language data that extraction loads on first use, loaded here when this module is imported.

Part of the extract stage: py3langid's identifier (for the pages that declare no language;
about 0.7 s and 75 MB to load) and the stopwords of every language that trafilatura's
justext fallback builds at its first use (about 0.1 s and 27 MB). `crawler.extract.page`
imports this module for the first page that needs a language detected; the extraction fork
server (`crawler.extract.pool`) imports it before it forks the workers, so they share
one copy instead of loading one each.
"""

from __future__ import annotations

from justext.core import define_stoplist
from py3langid.langid import MODEL_FILE, LanguageIdentifier
from trafilatura import external

__all__ = ["IDENTIFIER"]

# Normalized probabilities, so a low score means "cannot tell" rather than "short text".
IDENTIFIER = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)

# trafilatura's own lazy initialisation, and the set justext makes of it (cached by justext).
# Private functions: a trafilatura without them just builds its stopwords at first use.
if hasattr(external, "jt_stoplist_init"):
    define_stoplist(external.JT_STOPLIST or external.jt_stoplist_init())
