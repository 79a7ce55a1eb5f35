"""Sources: each turns what it reads into `RawItem`s, and says which of its input it could not use.

- files: JSONL and CSV (with a column mapping), for backfills and the demo;
- employee reviews: Glassdoor/Indeed-like exports (rating, pros, cons, role,
  location, date), marked as employer-brand mentions of one brand;
- RSS and Atom feeds, polled with ETag/Last-Modified and a cursor per feed;
- Mastodon public and hashtag timelines through its REST API.

A bad line, row or entry is reported with where it is and why, and the rest
goes on.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from time import struct_time
from typing import Any

import feedparser
import httpx
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from veille_contracts.models import SourceKind
from veille_ingest.pipeline import RawItem

FEED_TIMEOUT_S = 20.0
MAX_FEED_BYTES = 20_000_000
SEEN_PER_CURSOR = 2_000


@dataclass(frozen=True)
class Rejected:
    where: str  # "line 12", "row 4", "entry 3"
    error: str


# -- files ---------------------------------------------------------------------
class FilePost(BaseModel):
    """One post in a file, after the column mapping."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=2000)
    text: str = Field(min_length=1)
    published_at: datetime
    author: str = Field(min_length=1, max_length=500)
    followers: int | None = Field(default=None, ge=0)
    engagement: float | None = Field(default=None, ge=0)
    title: str | None = None
    url: str | None = None
    lang: str | None = None
    source: str | None = None
    rating: float | None = Field(default=None, ge=0, le=5)

    @field_validator("followers", "engagement", "title", "url", "lang", "source", "rating", mode="before")
    @classmethod
    def _blank_is_missing(cls, value: Any) -> Any:
        return None if value == "" else value


DEFAULT_MAPPING = {name: name for name in FilePost.model_fields}


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """`field=column` pairs over the defaults; an unknown field is refused by name."""
    mapping = dict(DEFAULT_MAPPING)
    for pair in pairs:
        target, sep, column = pair.partition("=")
        if not sep or target not in FilePost.model_fields or not column:
            raise ValueError(
                f"bad mapping {pair!r}: write field=column, field one of {', '.join(FilePost.model_fields)}"
            )
        mapping[target] = column
    return mapping


def _short(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'row'}: {e['msg']}" for e in error.errors()[:3])


def read_posts(path: Path, source: str, mapping: Mapping[str, str] = DEFAULT_MAPPING) -> Iterator[RawItem | Rejected]:
    """Posts of a JSONL or CSV file (by extension), mapped to veille's fields."""
    required = [mapping[f] for f, info in FilePost.model_fields.items() if info.is_required()]
    rows = _jsonl_rows(path) if path.suffix.lower() in (".jsonl", ".ndjson") else _csv_rows(path, required)
    for where, row in rows:
        if isinstance(row, Rejected):
            yield row
            continue
        try:
            post = FilePost.model_validate({field: row.get(column) for field, column in mapping.items()})
        except ValidationError as error:
            yield Rejected(where, _short(error))
            continue
        yield RawItem(
            source_kind=SourceKind.FILE,
            source=post.source or source,
            item_id=post.id,
            text=post.text,
            published_at=post.published_at,
            author_id=post.author,
            title=post.title,
            url=post.url,
            followers=post.followers,
            engagement=post.engagement,
            lang=post.lang,
            rating=post.rating,
        )


def _jsonl_rows(path: Path) -> Iterator[tuple[str, dict[str, Any] | Rejected]]:
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            where = f"line {number}"
            if not raw.strip():
                continue
            try:
                row = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as error:
                yield where, Rejected(where, f"not UTF-8 at byte {error.start}")
                continue
            except json.JSONDecodeError as error:
                yield where, Rejected(where, f"not JSON: {error.msg} at column {error.colno}")
                continue
            except RecursionError:
                yield where, Rejected(where, "JSON nested too deeply")
                continue
            yield where, row if isinstance(row, dict) else Rejected(where, "not a JSON object")


def _csv_rows(path: Path, required: list[str]) -> Iterator[tuple[str, dict[str, Any] | Rejected]]:
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [column for column in required if column not in (reader.fieldnames or [])]
    if missing:
        yield "header", Rejected("header", f"missing column(s) {', '.join(missing)}; found {reader.fieldnames}")
        return
    number = 1
    while True:
        number += 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # e.g. a field past the csv module's size limit: that row only
            yield f"row {number}", Rejected(f"row {number}", f"unreadable CSV: {error}")
            continue
        yield f"row {number}", row


# -- employee reviews ----------------------------------------------------------
class Review(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    id: str = Field(min_length=1)
    rating: float = Field(ge=0, le=5)
    title: str | None = None
    pros: str = ""
    cons: str = ""
    role: str | None = None
    location: str | None = None
    date: datetime
    lang: str | None = None

    @field_validator("title", "role", "location", "lang", mode="before")
    @classmethod
    def _blank_is_missing(cls, value: Any) -> Any:
        return None if value == "" else value


LABELS = {"fr": ("Points positifs : ", "Points négatifs : "), "en": ("Pros: ", "Cons: ")}


def read_reviews(path: Path, source: str, brand: str) -> Iterator[RawItem | Rejected]:
    """Reviews of one employer, from a CSV or a JSON array/JSONL export."""
    if path.suffix.lower() == ".csv":
        rows = _csv_rows(path, [f for f, info in Review.model_fields.items() if info.is_required()])
    elif path.suffix.lower() == ".json":
        try:
            loaded = json.loads(path.read_bytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
            yield Rejected("file", f"not a JSON document: {error}")
            return
        rows = (
            (f"entry {i}", r if isinstance(r, dict) else Rejected(f"entry {i}", "not an object"))
            for i, r in enumerate(loaded if isinstance(loaded, list) else [], start=1)
        )
    else:
        rows = _jsonl_rows(path)
    for where, row in rows:
        if isinstance(row, Rejected):
            yield row
            continue
        try:
            review = Review.model_validate(row)
        except ValidationError as error:
            yield Rejected(where, _short(error))
            continue
        if not (review.pros or review.cons or review.title):
            yield Rejected(where, "no title, pros or cons")
            continue
        good, bad = LABELS.get((review.lang or "fr")[:2], LABELS["en"])
        parts = [f"{good}{review.pros}" if review.pros else "", f"{bad}{review.cons}" if review.cons else ""]
        text = "\n".join(p for p in parts if p)
        yield RawItem(
            source_kind=SourceKind.EMPLOYEE_REVIEW,
            source=source,
            item_id=review.id,
            text=text or (review.title or ""),
            title=review.title,
            published_at=review.date,
            author_id=f"{review.role or 'employee'}|{review.location or ''}|{review.id}",
            lang=review.lang,
            employer=True,
            brand=brand,
            rating=review.rating,
        )


# -- RSS and Atom --------------------------------------------------------------
class FeedCursor(BaseModel):
    """Where a feed was left: its validators and the entries already taken."""

    etag: str | None = None
    modified: str | None = None
    seen: list[str] = Field(default_factory=list)


@dataclass
class FeedRead:
    items: list[RawItem]
    rejected: list[Rejected]
    cursor: FeedCursor
    not_modified: bool = False
    problem: str | None = None


def _when(entry: Mapping[str, Any]) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        stamp = entry.get(key)
        if isinstance(stamp, struct_time):
            return datetime(*stamp[:6], tzinfo=UTC)
    return None


async def read_feed(client: httpx.AsyncClient, name: str, url: str, cursor: FeedCursor) -> FeedRead:
    """New entries of a feed since `cursor`, with the cursor to keep once they are published."""
    headers = {"User-Agent": "veille/0.1 (+reputation monitoring)"}
    if cursor.etag:
        headers["If-None-Match"] = cursor.etag
    if cursor.modified:
        headers["If-Modified-Since"] = cursor.modified
    try:
        response = await client.get(url, headers=headers, timeout=FEED_TIMEOUT_S, follow_redirects=True)
    except httpx.HTTPError as error:
        return FeedRead([], [], cursor, problem=f"{type(error).__name__}: {error}")
    if response.status_code == 304:
        return FeedRead([], [], cursor, not_modified=True)
    if response.status_code >= 400:
        return FeedRead([], [], cursor, problem=f"HTTP {response.status_code}")
    if len(response.content) > MAX_FEED_BYTES:
        return FeedRead(
            [], [], cursor, problem=f"feed of {len(response.content):,} bytes; the limit is {MAX_FEED_BYTES:,}"
        )
    parsed = feedparser.parse(response.content, response_headers=dict(response.headers))
    kind = SourceKind.ATOM if str(parsed.get("version", "")).startswith("atom") else SourceKind.RSS
    seen = set(cursor.seen)
    items, rejected, taken = [], [], []
    problem = f"malformed feed: {parsed.get('bozo_exception')}" if parsed.get("bozo") else None
    for number, entry in enumerate(parsed.entries, start=1):
        identity = entry.get("id") or entry.get("link")
        published = _when(entry)
        content = entry.get("content") or []
        text = content[0].get("value", "") if content else entry.get("summary", "")
        if not identity or published is None or not (text or entry.get("title")):
            rejected.append(Rejected(f"entry {number}", "no id/link, no date or no text"))
            continue
        taken.append(identity)
        if identity in seen:
            continue
        items.append(
            RawItem(
                source_kind=kind,
                source=name,
                item_id=identity,
                text=text or entry.get("title", ""),
                title=entry.get("title"),
                url=entry.get("link"),
                published_at=published,
                author_id=entry.get("author") or name,
                lang=parsed.feed.get("language"),
            )
        )
    remembered = list(dict.fromkeys([*taken, *cursor.seen]))[:SEEN_PER_CURSOR]
    next_cursor = FeedCursor(
        etag=response.headers.get("ETag"), modified=response.headers.get("Last-Modified"), seen=remembered
    )
    return FeedRead(items, rejected, next_cursor, problem=problem)


# -- Mastodon ------------------------------------------------------------------
class MastodonAccount(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    acct: str
    followers_count: int = Field(default=0, ge=0)


class MastodonStatus(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    created_at: AwareDatetime
    content: str
    url: str | None = None
    uri: str | None = None
    language: str | None = None
    spoiler_text: str = ""
    account: MastodonAccount
    reblogs_count: int = 0
    favourites_count: int = 0
    replies_count: int = 0
    reblog: dict[str, Any] | None = None


@dataclass
class TimelineRead:
    items: list[RawItem]
    rejected: list[Rejected]
    since_id: str | None
    problem: str | None = None


def timeline_path(hashtag: str | None) -> str:
    return f"/api/v1/timelines/tag/{hashtag.lstrip('#')}" if hashtag else "/api/v1/timelines/public"


async def read_timeline(
    client: httpx.AsyncClient, name: str, base_url: str, hashtag: str | None, since_id: str | None, *, limit: int = 40
) -> TimelineRead:
    """Statuses newer than `since_id` on a hashtag timeline (or the public one), oldest first."""
    params: dict[str, str | int] = {"limit": limit}
    if since_id:
        params["since_id"] = since_id
    url = base_url.rstrip("/") + timeline_path(hashtag)
    try:
        response = await client.get(url, params=params, timeout=FEED_TIMEOUT_S)
        response.raise_for_status()
        statuses = response.json()
    except (httpx.HTTPError, ValueError) as error:
        return TimelineRead([], [], since_id, problem=f"{type(error).__name__}: {error}")
    if not isinstance(statuses, list):
        return TimelineRead([], [], since_id, problem="the timeline is not a JSON array")
    items, rejected, newest_id = [], [], since_id
    for number, raw in enumerate(statuses, start=1):
        try:
            status = MastodonStatus.model_validate(raw)
        except ValidationError as error:
            rejected.append(Rejected(f"status {number}", _short(error)))
            continue
        if newest_id is None or _later(status.id, newest_id):
            newest_id = status.id
        if status.reblog is not None:  # a boost repeats another status; the original is what counts
            continue
        text = f"{status.spoiler_text}\n{status.content}" if status.spoiler_text else status.content
        items.append(
            RawItem(
                source_kind=SourceKind.MASTODON,
                source=name,
                item_id=status.uri or status.url or status.id,
                text=text,
                url=status.url,
                published_at=status.created_at,
                author_id=status.account.acct,
                followers=status.account.followers_count,
                engagement=float(status.reblogs_count + status.favourites_count + status.replies_count),
                lang=status.language,
            )
        )
    items.sort(key=lambda i: i.published_at)
    return TimelineRead(items, rejected, newest_id)


def _later(a: str, b: str) -> bool:
    """Mastodon ids are numeric strings that grow with time."""
    return (len(a), a) > (len(b), b)


# -- cursors --------------------------------------------------------------------
@dataclass
class Cursors:
    """Per-source positions, saved atomically in the state directory once what they cover is published."""

    path: Path
    feeds: dict[str, FeedCursor] = field(default_factory=dict)
    timelines: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Cursors:
        if not path.is_file():
            return cls(path)
        raw = json.loads(path.read_text(encoding="utf-8"))
        feeds = {k: FeedCursor.model_validate(v) for k, v in raw.get("feeds", {}).items()}
        return cls(path, feeds, dict(raw.get("timelines", {})))

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        document = {"feeds": {k: v.model_dump() for k, v in self.feeds.items()}, "timelines": self.timelines}
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(document, indent=1, sort_keys=True), encoding="utf-8")
        temporary.replace(self.path)
