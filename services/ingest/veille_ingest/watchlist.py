"""The watch list: which brands to follow, how to recognise them, and where to collect.

A YAML file, validated at start. Each brand has a boolean query
(`("Banque Aurore" OR @banqueaurore OR #banqueaurore) AND NOT "aurore boréale"`),
or one made of its name, aliases, handles and hashtags; exclusions that veto
a match; the languages to keep; its competitors; and what makes a post speak
of it as an employer. A query that does not parse is refused with the brand
and the position of the error.

Matching is on folded text (case and accents ignored) and whole words: a
query term matches a run of whole words, so `aurore` does not match
`Aurorebank`. Queries compile once; a post is tokenised once for every brand.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyparsing as pp
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

# What makes a post about the brand a post about working there, when a brand does not say.
EMPLOYER_WORDS = (
    "emploi", "recrutement", "recrute", "embauche", "candidature", "entretien d'embauche", "stage", "alternance",
    "cdi", "cdd", "salaire", "salaires", "manager", "managers", "management", "collègues", "direction", "rh",
    "licenciement", "démission", "ambiance au travail", "charge de travail", "burn-out", "télétravail",
    "job", "jobs", "hiring", "recruiter", "recruitment", "interview", "internship", "salary", "pay", "workload",
    "layoffs", "colleagues", "my manager", "management", "hr", "employees", "employer", "work culture", "burnout",
)  # fmt: skip
# What makes a post product talk (the mark of a maven), besides a brand's own product names.
PRODUCT_WORDS = (
    "appli", "application", "app", "carte", "offre", "forfait", "abonnement", "produit", "produits", "tarif", "prix",
    "compte", "box", "livraison", "commande", "mise à jour", "fonctionnalité",
    "card", "plan", "subscription", "product", "products", "price", "pricing", "account", "delivery", "order",
    "update", "feature", "features",
)  # fmt: skip
_TOKEN = re.compile(r"[@#]?\w+(?:[-.]\w+)*")


class WatchListError(ValueError):
    """A watch list that cannot be used; the message names the brand and the setting."""


_COMBINING = dict.fromkeys(c for c in range(0x300, 0x20D0 + 48) if unicodedata.combining(chr(c))) | {ord("’"): "'"}


def fold(text: str) -> str:
    """Lower case without accents: what matching compares."""
    lowered = text.casefold()
    if lowered.isascii():
        return lowered
    return unicodedata.normalize("NFKD", lowered).translate(_COMBINING)


def tokens(text: str, folded: bool = False) -> list[str]:
    """Folded words, with handles and hashtags keeping their @ and #."""
    return _TOKEN.findall(text if folded else fold(text))


# -- query language ----------------------------------------------------------
Node = tuple[Any, ...]  # ("term", words) | ("not", node) | ("and", nodes…) | ("or", nodes…)


def _grammar() -> pp.ParserElement:
    """OR binds looser than AND (written or implied by juxtaposition), NOT binds tightest; parentheses group."""
    and_, or_, not_ = pp.CaselessKeyword("AND"), pp.CaselessKeyword("OR"), pp.CaselessKeyword("NOT")
    phrase = pp.QuotedString('"', esc_char="\\", unquote_results=True)
    word = ~(and_ | or_ | not_) + pp.Regex(r"[@#]?[^\s()\"]+")
    term = (phrase | word).set_name('a word, a "quoted phrase", an @handle or a #hashtag')
    term.set_parse_action(lambda t: ("term", tuple(tokens(t[0]))))
    expression = pp.Forward()
    atom = term | (pp.Suppress("(") + expression + pp.Suppress(")"))
    factor = pp.Forward()
    factor.set_name("a term")
    factor <<= (not_.suppress() + factor).set_parse_action(lambda t: ("not", t[0])) | atom
    conjunction = (factor + pp.ZeroOrMore(pp.Opt(and_).suppress() + factor)).set_parse_action(_joined("and"))
    disjunction = (conjunction + pp.ZeroOrMore(or_.suppress() + conjunction)).set_parse_action(_joined("or"))
    expression <<= disjunction
    return expression.parse_with_tabs()  # positions count characters, tabs included, as the user wrote them


def _joined(kind: str) -> Callable[[pp.ParseResults], Node]:
    def join(parts: pp.ParseResults) -> Node:
        nodes = list(parts)
        return nodes[0] if len(nodes) == 1 else (kind, *nodes)

    return join


_QUERY = _grammar()


class QueryError(ValueError):
    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


def parse_query(query: str) -> Node:
    """The query as a tree; `QueryError` with the (1-based) position of what does not parse."""
    if not query.strip():
        raise QueryError("the query is empty", 1)
    _check_balance(query)
    try:
        node: Node = _QUERY.parse_string(query, parse_all=True)[0]
    except pp.ParseException as error:
        found = query[error.loc : error.loc + 12] or "the end"
        raise QueryError(
            f'expected a term (a word, a "phrase", an @handle or a #hashtag), found {found!r}', error.loc + 1
        ) from None
    _check_terms(node)
    return node


def _check_balance(query: str) -> None:
    """Unclosed quotes and parentheses, reported where they open."""
    opened: list[int] = []
    quote: int | None = None
    for position, char in enumerate(query, start=1):
        if char == '"' and (position < 2 or query[position - 2] != "\\"):
            quote = None if quote else position
        elif quote is None and char == "(":
            opened.append(position)
        elif quote is None and char == ")":
            if not opened:
                raise QueryError("this closing parenthesis has no opening one", position)
            opened.pop()
    if quote:
        raise QueryError("this quote is never closed", quote)
    if opened:
        raise QueryError("this parenthesis is never closed", opened[-1])


def _check_terms(node: Node) -> None:
    if node[0] == "term" and not node[1]:
        raise QueryError("a term has no letters or digits", 1)
    for child in node[1:]:
        if isinstance(child, tuple) and child and isinstance(child[0], str):
            _check_terms(child)


def query_terms(node: Node) -> set[tuple[str, ...]]:
    if node[0] == "term":
        return {node[1]}
    return set().union(*(query_terms(child) for child in node[1:]))


def evaluate(node: Node, present: Callable[[tuple[str, ...]], bool]) -> bool:
    kind = node[0]
    if kind == "term":
        return present(node[1])
    if kind == "not":
        return not evaluate(node[1], present)
    if kind == "and":
        return all(evaluate(child, present) for child in node[1:])
    return any(evaluate(child, present) for child in node[1:])


# -- the file ----------------------------------------------------------------
class BrandWatch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    query: str | None = Field(default=None, description="Boolean query; else the name, aliases, handles, hashtags.")
    aliases: list[str] = Field(default_factory=list)
    handles: list[str] = Field(default_factory=list)
    hashtags: list[str] = Field(default_factory=list)
    exclusions: list[str] = Field(default_factory=list, description="Phrases that veto a match.")
    languages: list[str] = Field(default_factory=list, description="Languages kept; empty keeps all.")
    competitors: list[str] = Field(default_factory=list)
    products: list[str] = Field(default_factory=list, description="Product names: posts naming them are product talk.")
    employer_query: str | None = Field(default=None, description="What makes a post speak of the brand as employer.")

    @field_validator("handles")
    @classmethod
    def _at(cls, values: list[str]) -> list[str]:
        return [v if v.startswith("@") else f"@{v}" for v in values]

    @field_validator("hashtags")
    @classmethod
    def _hash(cls, values: list[str]) -> list[str]:
        return [v if v.startswith("#") else f"#{v}" for v in values]

    def effective_query(self) -> str:
        if self.query:
            return self.query
        names = [self.name, *self.aliases, *self.handles, *self.hashtags]
        return " OR ".join('"' + n.replace('"', "") + '"' for n in names)


class FeedConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    url: str = Field(pattern=r"^https?://")
    every_s: float = Field(default=300, ge=1)


class MastodonConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    base_url: str = Field(pattern=r"^https?://")
    hashtags: list[str] = Field(default_factory=list)
    public: bool = Field(default=False, description="Also read the public timeline.")
    every_s: float = Field(default=60, ge=1)


class Sources(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    feeds: list[FeedConfig] = Field(default_factory=list)
    mastodon: list[MastodonConfig] = Field(default_factory=list)


class WatchListFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    brands: list[BrandWatch] = Field(min_length=1)
    sources: Sources = Field(default_factory=Sources)


@dataclass(frozen=True)
class CompiledBrand:
    watch: BrandWatch
    query: Node
    exclusions: frozenset[tuple[str, ...]]
    employer: Node | None
    products: frozenset[tuple[str, ...]]


@dataclass(frozen=True)
class Match:
    brands: list[str]
    employer_brand: bool
    about_products: bool = False


class WatchList:
    """Compiled brands: which of them a text names, and whether as an employer."""

    def __init__(self, document: WatchListFile) -> None:
        self.document = document
        self.brands: list[CompiledBrand] = []
        for brand in document.brands:
            query = _compiled(brand.name, "query", brand.effective_query())
            employer = _compiled(brand.name, "employer_query", brand.employer_query) if brand.employer_query else None
            exclusions = frozenset(tuple(tokens(e)) for e in brand.exclusions if tokens(e))
            products = frozenset(tuple(tokens(p)) for p in (*brand.products, *PRODUCT_WORDS) if tokens(p))
            self.brands.append(CompiledBrand(brand, query, exclusions, employer, products))
        names = [b.name for b in document.brands]
        if len(set(names)) != len(names):
            raise WatchListError(f"a brand is listed twice: {sorted({n for n in names if names.count(n) > 1})}")
        every = set().union(*(query_terms(b.query) for b in self.brands)) | {
            e for b in self.brands for e in b.exclusions
        }
        every |= {tuple(tokens(w)) for w in EMPLOYER_WORDS} | {p for b in self.brands for p in b.products}
        self.longest = max(len(t) for t in every)
        self.employer_words = frozenset(tuple(tokens(w)) for w in EMPLOYER_WORDS)

    @property
    def names(self) -> list[str]:
        return [b.watch.name for b in self.brands]

    def match(self, text: str, lang: str | None = None, employer_hint: bool = False, folded: bool = False) -> Match:
        """The watched brands a text names (`folded`: the text is already folded), and how."""
        words = tokens(text, folded)
        grams = {tuple(words[i : i + n]) for n in range(1, self.longest + 1) for i in range(len(words) - n + 1)}
        present = grams.__contains__
        brands, employer, products = [], employer_hint, False
        for brand in self.brands:
            languages = brand.watch.languages
            if languages and lang not in languages:
                continue
            if not grams.isdisjoint(brand.exclusions) or not evaluate(brand.query, present):
                continue
            brands.append(brand.watch.name)
            products = products or not grams.isdisjoint(brand.products)
            if brand.employer is not None:
                employer = employer or evaluate(brand.employer, present)
            else:
                employer = employer or not grams.isdisjoint(self.employer_words)
        return Match(brands, employer and bool(brands), products)


def _compiled(brand: str, setting: str, query: str) -> Node:
    try:
        return parse_query(query)
    except QueryError as error:
        raise WatchListError(f"brand {brand!r}, {setting}: {error} at position {error.position}: {query!r}") from None


def load_watchlist(path: Path) -> WatchList:
    """Read and check the watch list; `WatchListError` says what to fix and where."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise WatchListError(f"{path}: {error}") from None
    try:
        document = WatchListFile.model_validate(raw)
    except ValidationError as error:
        problems = []
        for issue in error.errors()[:5]:
            where = _where(raw, issue["loc"])
            problems.append(f"{where}: {issue['msg']}")
        raise WatchListError(f"{path}: " + "; ".join(problems)) from None
    return WatchList(document)


def _where(raw: Any, loc: tuple[Any, ...]) -> str:
    """A validation error's location, naming the brand rather than its index."""
    parts = []
    node = raw
    for key in loc:
        if isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
            name = node.get("name") if isinstance(node, dict) else None
            parts.append(f"[{name!r}]" if name else f"[{key}]")
        else:
            node = node.get(key) if isinstance(node, dict) else None
            parts.append(f".{key}" if parts else str(key))
    return "".join(parts)
