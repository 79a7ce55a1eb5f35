"""The ingest service: sources → the pipeline → `mentions-raw`, each mention acknowledged before it counts.

On start it reads back the last `VEILLE_DEDUP_WINDOW_DAYS` of `mentions-raw`
into the de-duplication index, so a restart or a second replay of the same
file emits nothing twice. Then it polls the feeds and Mastodon timelines of
the watch list, each at its own pace, and serves `POST /webhook`. A source's
cursor moves only once the mentions it covers are acknowledged (acks=all).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import httpx
from faststream.asgi import AsgiFastStream

from veille_contracts.settings import VeilleSettings, load_settings
from veille_contracts.streams import kafka_broker
from veille_contracts.telemetry import setup_telemetry
from veille_contracts.web import serve as serve_http
from veille_contracts.web import service_app
from veille_ingest.delivery import Ingestor, build_pipeline, copy_log, restore
from veille_ingest.http import http_routes
from veille_ingest.sources import Cursors, FeedCursor, read_feed, read_timeline
from veille_ingest.watchlist import FeedConfig, MastodonConfig

SERVICE = "ingest"
LOGGER = logging.getLogger("veille.ingest")
MAX_BACKOFF_S = 300.0


async def poll_forever(name: str, every_s: float, poll: Callable[[], Any]) -> None:
    """Call `poll` every `every_s` seconds; after a failure, wait longer each time (up to five minutes)."""
    failures = 0
    while True:
        try:
            await poll()
            failures = 0
            await asyncio.sleep(every_s)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a source must never stop the others
            failures += 1
            wait = min(MAX_BACKOFF_S, every_s * 2**failures)
            LOGGER.warning("%s: %s; next try in %.0f s", name, error, wait)
            await asyncio.sleep(wait)


def feed_poller(ingestor: Ingestor, cursors: Cursors, client: httpx.AsyncClient, feed: FeedConfig) -> Callable[[], Any]:
    async def poll() -> None:
        read = await read_feed(client, feed.name, feed.url, cursors.feeds.get(feed.name, FeedCursor()))
        if read.problem:
            LOGGER.warning("feed %s: %s", feed.name, read.problem)
        tally = await ingestor.ingest([*read.items, *read.rejected])
        if read.items or read.cursor != cursors.feeds.get(feed.name):
            cursors.feeds[feed.name] = read.cursor
            cursors.save()
        if read.items:
            LOGGER.info("feed %s: %s", feed.name, dict(tally.outcomes))

    return poll


def timeline_poller(
    ingestor: Ingestor, cursors: Cursors, client: httpx.AsyncClient, instance: MastodonConfig, hashtag: str | None
) -> Callable[[], Any]:
    key = f"{instance.name}:{hashtag or 'public'}"

    async def poll() -> None:
        read = await read_timeline(client, instance.name, instance.base_url, hashtag, cursors.timelines.get(key))
        if read.problem:
            raise RuntimeError(f"timeline {key}: {read.problem}")
        await ingestor.ingest([*read.items, *read.rejected])
        if read.since_id and read.since_id != cursors.timelines.get(key):
            cursors.timelines[key] = read.since_id
            cursors.save()

    return poll


def create_app(settings: VeilleSettings | None = None) -> AsgiFastStream:
    """The ingest service: pollers, the webhook, health; the de-duplication index is rebuilt first."""
    settings = settings or load_settings()
    setup_telemetry(settings, SERVICE)
    pipeline = build_pipeline(settings)
    broker = kafka_broker(settings, SERVICE)
    ingestor = Ingestor(pipeline, broker, copy_log(settings))
    cursors = Cursors.load(settings.state_dir / "ingest" / "cursors.json")
    client = httpx.AsyncClient(headers={"User-Agent": "veille/0.1"})
    tasks: list[asyncio.Task[None]] = []

    async def rebuild() -> None:
        await restore(settings, pipeline)

    app, _ = service_app(broker, settings, http_routes(settings, ingestor), on_startup=[rebuild])

    @app.after_startup
    async def start_sources() -> None:
        sources = pipeline.watchlist.document.sources
        for feed in sources.feeds:
            poll = feed_poller(ingestor, cursors, client, feed)
            tasks.append(asyncio.create_task(poll_forever(f"feed {feed.name}", feed.every_s, poll)))
        for instance in sources.mastodon:
            for hashtag in [*instance.hashtags, *([None] if instance.public else [])]:
                poll = timeline_poller(ingestor, cursors, client, instance, hashtag)
                name = f"mastodon {instance.name} {hashtag or 'public'}"
                tasks.append(asyncio.create_task(poll_forever(name, instance.every_s, poll)))

    @app.on_shutdown
    async def stop_sources() -> None:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await client.aclose()

    return app


async def serve(settings: VeilleSettings) -> None:
    """Run the service with its HTTP endpoints until SIGTERM or Ctrl-C."""
    await serve_http(create_app(settings), settings, settings.ingest_http_port)


if __name__ == "__main__":
    asyncio.run(serve(load_settings()))
