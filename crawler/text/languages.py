"""Language codes: one rule for every place a language comes from.

A page's `<html lang>`, `Content-Language` or `og:locale`, a feed's `<language>`, a Google
News sitemap's `<news:language>`, a source's `language:` in sources.yaml and the language
detector all end here, so the store holds one kind of value: an ISO 639-1 code, lowercase,
or nothing. Pure: no I/O.

The data is langcodes' (the IANA language subtag registry plus CLDR's aliases): it knows the
ISO 639-2/B and /T and 639-3 codes that have a 639-1 equivalent (`eng`, `ger`, `deu`), the
withdrawn 639-1 codes that Java and old CMSs still write (`iw`, `in`, `ji`, `jw`, `mo`), and
which individual language belongs to which macrolanguage (`arb`, `ary` → `ar`; `cmn`, `yue`
→ `zh`; the detector reports some of these). A hand-kept table of a few hundred codes would
drift from the registry; langcodes is 1.3 MB of pure Python without dependencies.
"""

from __future__ import annotations

import re

__all__ = ["language_code"]

# The primary subtag of a BCP 47 tag ("pt-BR", "zh-Hant-TW"), of a POSIX or og:locale
# ("pt_BR", "en_US.UTF-8") or of a bare code ("eng"); what follows it is region, script or
# charset, never another language.
_PRIMARY = re.compile(r"([A-Za-z]{2,3})(?:$|[-_.@;\s])")


def language_code(value: object) -> str | None:
    """The ISO 639-1 code of a declared or detected language, else None.

    `en-US` → `en`, `EN` → `en`, `eng` → `en`, `iw` → `he`, `arb` → `ar`; a list
    (`Content-Language: es, en`) gives its first language. Anything that names no language
    with a 639-1 code (`US`, `english`, `utf-8`, `und`, `x-default`, `fil`) gives None: a
    wrong language is worse than none, since topics and searches filter on it.
    """
    if not isinstance(value, str):
        return None
    match = _PRIMARY.match(value.split(",", 1)[0].strip())
    if match is None:
        return None
    code = match.group(1).lower()
    # Imported at the first code to look up, not with this module: every command loads it
    # (through the config), and most never meet a language code (0.03 s).
    import langcodes
    from langcodes.data_dicts import MACROLANGUAGES

    if not langcodes.tag_is_valid(code):
        return None
    try:
        # Aliases: 639-2/3 codes with a 639-1 twin, withdrawn codes, dominant languages of a
        # macrolanguage (cmn is zh).
        normalized = langcodes.Language.get(code).prefer_macrolanguage().language or ""
    except (langcodes.LanguageTagError, ValueError):
        return None
    if len(normalized) == 3:
        # Other members of a macrolanguage (ary, Moroccan Arabic; yue, Cantonese) are
        # written with the macrolanguage's code in 639-1. Only three-letter ones: id, nb and
        # sr are members too (of ms, no, sh) but have their own 639-1 code.
        normalized = MACROLANGUAGES.get(normalized, normalized)
    if len(normalized) == 2:
        return normalized
    # CLDR renames a few valid 639-1 codes to three-letter ones (tl → fil): the code as
    # written is then the 639-1 one.
    return code if len(code) == 2 else None
