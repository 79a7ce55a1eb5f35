"""Property-based tests of what veille reads from outside: topics, post text, queries, webhook bodies, CLI input.

Each boundary either accepts an input or refuses it with its own error; no other exception gets through.
"""

from __future__ import annotations

import json
import tempfile
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from faststream.asgi import AsgiResponse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.properties.nasty import BODIES, TEXTS
from veille_contracts.catalog import topic, topics
from veille_contracts.codec import DecodeError, decode, encode
from veille_contracts.models import Mention, SourceKind
from veille_contracts.settings import SettingsError, load_settings
from veille_ingest.http import _items, _parse
from veille_ingest.normalise import Normaliser, plain_text
from veille_ingest.pipeline import ItemError, Pipeline, RawItem
from veille_ingest.sources import Rejected, parse_mapping, read_posts
from veille_ingest.watchlist import Node, QueryError, evaluate, load_watchlist, parse_query, tokens

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20,
)
KEPT_FORMATS = {"\n", "\t", "\u200d", "\ufe0f"}  # line breaks, tabs and the joiners inside emoji sequences
NORMALISER = Normaliser()
PAYLOAD_TOPICS = sorted(name for name in topics() if not name.endswith("-dlq"))
SOME = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _no_hidden_characters(text: str) -> bool:
    return all(unicodedata.category(c) not in ("Cc", "Cf") or c in KEPT_FORMATS for c in text)


# -- the codec -----------------------------------------------------------------
@SOME
@given(
    name=st.sampled_from(sorted(n for n in topics() if not n.endswith("-dlq"))),
    raw=st.binary(max_size=300) | JSON.map(lambda v: json.dumps(v).encode()),
)
def test_decoding_any_bytes_gives_a_payload_or_a_decode_error(name: str, raw: bytes) -> None:
    try:
        decoded = decode(name, raw)
    except DecodeError as error:
        assert str(error).startswith(f"{name}: ")
    else:
        assert decoded is not None


@pytest.mark.parametrize("name", sorted(BODIES))
def test_each_nasty_body_on_a_topic_is_a_decode_error(name: str) -> None:
    for topic_name in PAYLOAD_TOPICS:
        with pytest.raises(DecodeError):
            decode(topic_name, BODIES[name])


@SOME
@given(text=st.text(min_size=1, max_size=400), title=st.none() | st.text(max_size=80))
def test_any_text_survives_the_codec_unchanged(text: str, title: str | None) -> None:
    example = decode("mentions-raw", next(iter(topic("mentions-raw").examples())).read_bytes())
    mention = example.model_copy(update={"text": text, "title": title})
    assert decode("mentions-raw", encode(mention)) == mention


# -- the normaliser ------------------------------------------------------------
@SOME
@given(text=st.text(max_size=500))
def test_cleaned_text_has_no_hidden_characters_and_no_edge_spaces(text: str) -> None:
    clean = NORMALISER.clean(text)
    assert _no_hidden_characters(clean.text)
    assert clean.text == clean.text.strip()
    assert clean.lang == "und" or clean.lang.isalpha()
    assert 0.0 <= clean.lang_confidence <= 1.0


@SOME
@given(visible=st.text(st.characters(categories=["L"]), min_size=1, max_size=40), hidden=st.from_regex(r"[a-z]{12}"))
def test_scripts_and_styles_never_reach_the_text(visible: str, hidden: str) -> None:
    html = f"<p>{visible}</p><script>var {hidden} = 1;</script><style>.{hidden} {{}}</style>"
    assert hidden not in plain_text(html)


# -- the query language --------------------------------------------------------
@SOME
@given(query=st.text(max_size=80) | st.text(alphabet='ab "()@#-ANDORNOT', max_size=40))
def test_any_query_parses_or_says_where_it_goes_wrong(query: str) -> None:
    try:
        parse_query(query)
    except QueryError as error:
        assert 1 <= error.position <= len(query) + 1
        assert str(error)


WORDS = st.sampled_from(["kestrel", "mobile", "fibre", "box", "panne", "appli", "réseau", "orage"])
Tree = tuple[Any, ...]
TREES: st.SearchStrategy[Tree] = st.recursive(
    WORDS.map(lambda w: ("term", w)),
    lambda kids: (
        st.tuples(st.just("not"), kids)
        | st.tuples(st.sampled_from(["and", "or"]), kids, kids)
        | st.tuples(st.just("phrase"), st.lists(WORDS, min_size=2, max_size=3))
    ),
    max_leaves=8,
)


def _render(tree: Tree) -> str:
    kind = tree[0]
    if kind == "term":
        return str(tree[1])
    if kind == "phrase":
        return '"' + " ".join(tree[1]) + '"'
    if kind == "not":
        return f"NOT ({_render(tree[1])})"
    return f"({_render(tree[1])}) {kind.upper()} ({_render(tree[2])})"


def _truth(tree: Tree, present: set[tuple[str, ...]]) -> bool:
    kind = tree[0]
    if kind in ("term", "phrase"):  # compared folded, as the matcher does
        return tuple(tokens(tree[1] if kind == "term" else " ".join(tree[1]))) in present
    if kind == "not":
        return not _truth(tree[1], present)
    combine = all if kind == "and" else any
    return combine(_truth(child, present) for child in tree[1:])


@SOME
@given(tree=TREES, words=st.lists(WORDS, max_size=8))
def test_a_written_query_means_what_its_tree_means(tree: Tree, words: list[str]) -> None:
    node: Node = parse_query(_render(tree))
    found = tokens(" ".join(words))
    grams = {tuple(found[i : i + n]) for n in (1, 2, 3) for i in range(len(found) - n + 1)}
    assert evaluate(node, grams.__contains__) == _truth(tree, grams)


# -- the webhook's body --------------------------------------------------------
@SOME
@given(raw=st.binary(max_size=400) | JSON.map(lambda v: json.dumps(v).encode()))
def test_any_webhook_body_is_read_or_refused_with_a_client_error(raw: bytes) -> None:
    parsed = _parse(raw)
    if isinstance(parsed, AsgiResponse):
        assert parsed.status_code in (400, 413, 422)
        assert json.loads(parsed.body)["error"]
        return
    source, posts = parsed
    items = _items(source, posts)
    assert len(items) == len(posts)
    assert all(isinstance(item, RawItem | Rejected) for item in items)


@pytest.mark.parametrize("name", sorted(BODIES))
def test_each_nasty_webhook_body_is_parsed_or_refused_by_name(name: str) -> None:
    parsed = _parse(BODIES[name])
    if isinstance(parsed, AsgiResponse):
        assert parsed.status_code in (400, 413, 422), name
    else:
        items = _items(*parsed)
        refused = [item for item in items if isinstance(item, Rejected)]
        assert all(item.error for item in refused)


# -- the ingest pipeline on nasty texts -----------------------------------------
@pytest.mark.parametrize("name", sorted(TEXTS))
def test_each_nasty_text_becomes_a_clean_mention_or_a_clear_refusal(name: str) -> None:
    pipeline = Pipeline(load_watchlist(load_settings().watchlist), "property-key")
    item = RawItem(SourceKind.WEBHOOK, "nasty", name, TEXTS[name], datetime(2026, 11, 20, tzinfo=UTC), "someone")
    try:
        outcome = pipeline.process(item)
    except ItemError as error:
        assert str(error)
        return
    assert outcome.status in ("emitted", "unmatched")
    if outcome.mention is not None:
        mention: Mention = outcome.mention
        assert _no_hidden_characters(mention.text)
        if name == "html and script":  # markup goes; escaped markup is what the author wrote, and stays as text
            assert "alert(" not in mention.text and "onerror" not in mention.text and "<" not in mention.text
        assert "someone" not in mention.author.id
        assert decode("mentions-raw", encode(mention)) == mention


# -- command-line and configuration input ---------------------------------------
@SOME
@given(pairs=st.lists(st.text(max_size=20), max_size=4))
def test_a_column_mapping_is_taken_or_refused_by_name(pairs: list[str]) -> None:
    try:
        mapping = parse_mapping(pairs)
    except ValueError as error:
        assert str(error).startswith("bad mapping ")
    else:
        assert all(isinstance(column, str) and column for column in mapping.values())


@SOME
@given(lines=st.lists(st.binary(max_size=80) | JSON.map(lambda v: json.dumps(v).encode()), max_size=6))
def test_any_jsonl_file_gives_a_post_or_a_refusal_per_line(lines: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "posts.jsonl"
        path.write_bytes(b"\n".join(line.replace(b"\n", b" ") for line in lines))
        read = list(read_posts(path, "file"))
    assert len(read) <= len(lines)
    assert all(isinstance(item, RawItem) or (isinstance(item, Rejected) and item.error) for item in read)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_nasty_files_give_refusals_not_crashes(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"nasty{suffix}"
    if suffix == ".jsonl":
        path.write_bytes(b"\n".join([BODIES["deeply nested JSON"], BODIES["invalid UTF-8"], b"[1, 2]", b"{"]))
    else:
        huge = "Kestrel Mobile " + "x" * 1_000_000
        path.write_text(f'id,text,published_at,author\n1,"{huge}",2026-11-20T10:00:00Z,a\n2,\x00\x1b,hier,b\n')
    read = list(read_posts(path, "file"))
    assert read and all(isinstance(item, Rejected | RawItem) for item in read)
    assert any(isinstance(item, Rejected) for item in read)


SETTINGS = ["kafka_bootstrap_servers", "clickhouse_url", "broker_port", "sink_batch_size", "webhook_rate_limit",
            "notify_language", "author_keys_retired", "retention_days", "otel_exporter"]  # fmt: skip


@SOME
@given(field=st.sampled_from(SETTINGS), value=st.text(max_size=30))
def test_a_bad_setting_is_refused_naming_its_variable(field: str, value: str) -> None:
    try:
        load_settings(**{field: value})
    except SettingsError as error:
        assert f"VEILLE_{field.upper()}=" in str(error)


def test_a_bad_secret_is_refused_without_showing_it() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(author_keys_retired="not-a-json-list-s3cr3t")
    assert "VEILLE_AUTHOR_KEYS_RETIRED=<hidden>" in str(refused.value)
    assert "s3cr3t" not in str(refused.value)
