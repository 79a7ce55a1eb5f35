"""Sources on real-format data: JSONL/CSV files, review exports, RSS and Atom over HTTP, Mastodon timelines."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ingest.servers import Request, serving
from veille_contracts.models import SourceKind
from veille_ingest.pipeline import RawItem
from veille_ingest.sources import (
    Cursors,
    FeedCursor,
    Rejected,
    parse_mapping,
    read_feed,
    read_posts,
    read_reviews,
    read_timeline,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "ingest"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as shared:
        yield shared


def split(found: list[RawItem | Rejected]) -> tuple[list[RawItem], list[Rejected]]:
    return [f for f in found if isinstance(f, RawItem)], [f for f in found if isinstance(f, Rejected)]


def test_a_jsonl_file_gives_its_posts_and_names_each_bad_line(tmp_path: Path) -> None:
    good = {"id": "p1", "text": "Fibrelia en panne", "published_at": "2026-11-02T08:00:00+01:00", "author": "u1"}
    path = tmp_path / "posts.jsonl"
    path.write_bytes(
        b"\n".join(
            [
                json.dumps(good).encode(),
                b'{"id": "p2", "text": "caf\xe9"}',
                b"{not json",
                json.dumps({**good, "id": "p3", "published_at": "hier"}).encode(),
                b"[1, 2]",
                b"",
                json.dumps({**good, "id": "p4", "followers": "", "source": "relais"}).encode(),
            ]
        )
    )
    items, rejected = split(list(read_posts(path, "backfill")))
    assert [(i.item_id, i.source) for i in items] == [("p1", "backfill"), ("p4", "relais")]
    assert items[0].published_at.utcoffset() is not None and items[1].followers is None
    assert [r.where for r in rejected] == ["line 2", "line 3", "line 4", "line 5"]
    assert "not UTF-8" in rejected[0].error and "not JSON" in rejected[1].error
    assert "published_at" in rejected[2].error and "not a JSON object" in rejected[3].error


def test_a_csv_file_is_read_through_a_column_mapping_and_a_missing_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text('post_id,body,when,who,fans\nx1,"Maison Brise, livraison en retard",2026-11-02 09:00,u9,1200\n')
    mapping = parse_mapping(["id=post_id", "text=body", "published_at=when", "author=who", "followers=fans"])
    [item] = list(read_posts(path, "export", mapping))
    assert isinstance(item, RawItem) and item.text == "Maison Brise, livraison en retard" and item.followers == 1200
    [missing] = list(read_posts(path, "export"))
    assert isinstance(missing, Rejected) and "missing column(s) id, text, published_at, author" in missing.error
    with pytest.raises(ValueError, match="bad mapping 'texte=body'"):
        parse_mapping(["texte=body"])


def test_employee_reviews_become_employer_brand_posts_of_their_brand() -> None:
    items, rejected = split(list(read_reviews(DATA / "reviews.csv", "avis-employes", "Kestrel Mobile")))
    assert [i.item_id for i in items] == ["kr-1001", "kr-1002", "kr-1003"]
    assert all(
        i.employer and i.brand == "Kestrel Mobile" and i.source_kind is SourceKind.EMPLOYEE_REVIEW for i in items
    )
    assert items[0].text.splitlines() == [
        "Points positifs : Collègues solidaires",
        "Points négatifs : Objectifs impossibles, managers absents, aucune reconnaissance",
    ]
    assert items[2].text.startswith("Pros: Free phone plan\nCons: Call targets")
    assert [(r.where, r.error.split(":")[0]) for r in rejected] == [
        ("row 5", "no title, pros or cons"),
        ("row 6", "date"),
    ]


def test_a_review_export_without_a_required_column_is_refused_with_the_column(tmp_path: Path) -> None:
    path = tmp_path / "reviews.csv"
    path.write_text("id,title,pros,cons,date\nr1,Bien,Oui,Non,2026-11-01\n")
    [refused] = list(read_reviews(path, "avis", "Kestrel Mobile"))
    assert isinstance(refused, Rejected) and "missing column(s) rating" in refused.error


def _feed(body: bytes, content_type: str) -> Any:
    def answer(request: Request) -> tuple[int, dict[str, str], bytes]:
        if request.headers.get("If-None-Match") == '"v1"':
            return 304, {}, b""
        return (
            200,
            {"Content-Type": content_type, "ETag": '"v1"', "Last-Modified": "Mon, 02 Nov 2026 10:00:00 GMT"},
            body,
        )

    return answer


async def test_an_rss_feed_gives_new_entries_then_answers_not_modified_and_the_cursor_skips_seen_ones(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    body = (DATA / "feed.rss").read_bytes()
    with serving({"/eco.rss": _feed(body, "application/rss+xml")}) as base:
        first = await read_feed(client, "journal-eco", f"{base}/eco.rss", FeedCursor())
        second = await read_feed(client, "journal-eco", f"{base}/eco.rss", first.cursor)
        forgetful = await read_feed(
            client, "journal-eco", f"{base}/eco.rss", first.cursor.model_copy(update={"etag": None})
        )
    assert [i.item_id for i in first.items] == ["journal-eco-4411", "journal-eco-4412", "journal-eco-4413"]
    assert first.items[0].source_kind is SourceKind.RSS and first.items[0].lang == "fr-FR"
    assert first.items[0].published_at.isoformat() == "2026-11-02T07:15:00+00:00"
    assert "Banque Aurore" in first.items[0].text and (first.items[0].url or "").endswith("aurore-panne")
    assert [r.where for r in first.rejected] == ["entry 4"]
    assert second.not_modified and second.items == []
    assert forgetful.items == []  # the server ignored the validators: the cursor's seen ids still hold
    cursors = Cursors(tmp_path / "cursors.json", feeds={"journal-eco": first.cursor})
    cursors.save()
    assert Cursors.load(tmp_path / "cursors.json").feeds["journal-eco"] == first.cursor


async def test_an_atom_feed_and_a_truncated_feed_still_give_their_valid_entries(client: httpx.AsyncClient) -> None:
    atom = (DATA / "feed.atom").read_bytes()
    truncated = (DATA / "feed.rss").read_bytes()[:1500]
    with serving(
        {"/blog.atom": _feed(atom, "application/atom+xml"), "/broken.rss": _feed(truncated, "application/rss+xml")}
    ) as base:
        blog = await read_feed(client, "riverside", f"{base}/blog.atom", FeedCursor())
        broken = await read_feed(client, "journal-eco", f"{base}/broken.rss", FeedCursor())
        missing = await read_feed(client, "gone", f"{base}/gone.rss", FeedCursor())
    [post] = blog.items
    assert post.source_kind is SourceKind.ATOM and "doubled its fees" in post.text and post.author_id == "Sam Ellery"
    assert broken.problem is not None and broken.problem.startswith("malformed feed")
    assert "journal-eco-4411" in [i.item_id for i in broken.items]
    assert missing.problem == "HTTP 404" and missing.items == []


def _status(number: int, text: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(109_000_000 + number),
        "created_at": f"2026-11-02T09:{number:02d}:00.000Z",
        "content": f"<p>{text}</p>",
        "url": f"https://social.example/@client{number}/{109_000_000 + number}",
        "uri": f"https://social.example/users/client{number}/statuses/{109_000_000 + number}",
        "language": "fr",
        "spoiler_text": "",
        "visibility": "public",
        "account": {
            "id": str(number),
            "username": f"client{number}",
            "acct": f"client{number}",
            "followers_count": 40 * number,
        },
        "reblogs_count": number,
        "favourites_count": 2,
        "replies_count": 0,
        "reblog": None,
        "tags": [{"name": "banqueaurore", "url": "https://social.example/tags/banqueaurore"}],
        **extra,
    }


async def test_a_mastodon_hashtag_timeline_is_read_since_the_last_status(client: httpx.AsyncClient) -> None:
    statuses = [
        {"id": "109000004", "content": "<p>no account, no date</p>"},
        _status(3, "#BanqueAurore toujours en panne"),
        _status(2, "boost", reblog=_status(1, "original")),
        _status(1, "@banqueaurore merci pour la réponse rapide"),
    ]

    def timeline(request: Request) -> tuple[int, dict[str, str], bytes]:
        since = int(request.query.get("since_id", "0"))
        newer = [s for s in statuses if s["id"].isdigit() and int(s["id"]) > since]
        return 200, {"Content-Type": "application/json"}, json.dumps(newer[: int(request.query["limit"])]).encode()

    with serving({"/api/v1/timelines/tag/banqueaurore": timeline}) as base:
        first = await read_timeline(client, "social-example", base, "#banqueaurore", None)
        again = await read_timeline(client, "social-example", base, "banqueaurore", first.since_id)
    assert [i.text for i in first.items] == [
        "<p>@banqueaurore merci pour la réponse rapide</p>",
        "<p>#BanqueAurore toujours en panne</p>",
    ]
    assert first.items[1].followers == 120 and first.items[1].engagement == 5.0
    assert first.items[1].item_id.startswith("https://social.example/users/client3")
    assert first.since_id == "109000003" and again.items == []
    assert [r.where for r in first.rejected] == ["status 1"]  # a status that does not fit is named and skipped
