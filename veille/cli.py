"""The `veille` command: embedded infrastructure, services, topics, contracts and the demo."""

from __future__ import annotations

import asyncio
import importlib
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from veille.infra.embedded import EmbeddedInfra, InfraError
from veille_contracts.settings import SettingsError, VeilleSettings, load_settings

app = typer.Typer(help="veille: reputation monitoring for customer and employee voice.", no_args_is_help=True)
infra_app = typer.Typer(help="The embedded Kafka-protocol broker and ClickHouse server.", no_args_is_help=True)
topics_app = typer.Typer(help="Kafka topics, as declared in contracts/topics/.", no_args_is_help=True)
contracts_app = typer.Typer(help="Topic contracts: schemas and examples.", no_args_is_help=True)
dashboards_app = typer.Typer(help="Grafana dashboards built as code.", no_args_is_help=True)
report_app = typer.Typer(help="Reports.", no_args_is_help=True)
model_app = typer.Typer(help="The sentiment model: encoder and heads.", no_args_is_help=True)
ingest_app = typer.Typer(help="Ingest files and exports into mentions-raw.", no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")
app.add_typer(infra_app, name="infra")
app.add_typer(dashboards_app, name="dashboards")
app.add_typer(report_app, name="report")
app.add_typer(topics_app, name="topics")
app.add_typer(contracts_app, name="contracts")
app.add_typer(model_app, name="model")

console = Console()
errors = Console(stderr=True)
SERVICES = ("ingest", "sentiment", "escalation", "analytics")


def _settings() -> VeilleSettings:
    try:
        return load_settings()
    except SettingsError as error:
        errors.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None


@infra_app.command("up")
def infra_up() -> None:
    """Start the broker and ClickHouse (if not running), create the topics, print their addresses."""
    infra = EmbeddedInfra(_settings())
    try:
        env = infra.up()
    except InfraError as error:
        errors.print(f"[red]infra up failed:[/red] {error}")
        raise typer.Exit(1) from None
    _print_status(infra)
    console.print(f"Services read these from [bold]{infra.settings.infra_env_file}[/bold]:")
    for key, value in env.items():
        console.print(f"  export {key}={value}")


@infra_app.command("down")
def infra_down() -> None:
    """Stop the broker and ClickHouse; no process is left behind."""
    stopped = EmbeddedInfra(_settings()).down()
    console.print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


@infra_app.command("status")
def infra_status() -> None:
    """Report each component: running, unresponsive or dead. Exits 1 unless all run."""
    infra = EmbeddedInfra(_settings())
    if not _print_status(infra):
        raise typer.Exit(1)


def _print_status(infra: EmbeddedInfra) -> bool:
    report = infra.status()
    if not report:
        console.print("the embedded infrastructure is not running (veille infra up)")
        return False
    table = Table("component", "address", "pid", "state")
    colours = {"running": "green", "unresponsive": "yellow", "dead": "red"}
    for item in report:
        table.add_row(item.name, item.address, str(item.pid), f"[{colours[item.state]}]{item.state}[/]")
    console.print(table)
    return all(item.state == "running" for item in report)


@topics_app.command("create")
def topics_create() -> None:
    """Create the declared topics on the configured cluster (idempotent)."""
    from veille.infra.topics import ensure_topics

    created = ensure_topics(_settings())
    console.print("created: " + (", ".join(created) if created else "none, all exist"))


@contracts_app.command("schemas")
def contracts_schemas() -> None:
    """Regenerate contracts/schemas/ from the pydantic models (refused if the change is breaking)."""
    from veille_contracts.catalog import topics
    from veille_contracts.schemas import breaking_changes, generate, write_all

    problems = [
        f"{name}: {problem}"
        for name, declared in topics().items()
        if declared.schema_file
        for problem in breaking_changes(declared.load_schema(), generate(name))
    ]
    if problems:
        errors.print("[red]breaking change; add a new schema version instead:[/red]\n" + "\n".join(problems))
        raise typer.Exit(1)
    for path in write_all():
        console.print(f"wrote {path}")


@dashboards_app.command("build")
def dashboards_build(
    out: Annotated[Path, typer.Option(help="Folder to write <audience>/<uid>.json into.")] = Path("dashboards"),
) -> None:
    """Write every dashboard's JSON, deterministically."""
    from veille_analytics.dashboards import write_all

    for path in write_all(out):
        console.print(f"wrote {path}")


@dashboards_app.command("push")
def dashboards_push() -> None:
    """Create or update the ClickHouse datasource, one folder per audience and the dashboards in Grafana."""
    from grafana_client.client import GrafanaException

    from veille_analytics.grafana import push

    settings = _settings()
    try:
        report = push(settings)
    except GrafanaException as error:
        errors.print(f"[red]Grafana at {settings.grafana_url} refused:[/red] {error}")
        raise typer.Exit(1) from None
    console.print(f"created: {', '.join(report.created) or 'nothing'}")
    console.print(f"updated: {', '.join(report.updated) or 'nothing'}")


@report_app.command("hr")
def report_hr(
    brand: Annotated[str, typer.Option(help="The brand, as in the watch list.")],
    from_: Annotated[datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="First day (included).")],
    to: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="Last day (excluded).")],
    out: Annotated[Path, typer.Option(help="Folder for the HTML and PDF.")] = Path("reports"),
) -> None:
    """Write the employer-brand report for HR as HTML and PDF."""
    from veille_analytics.clickhouse import clickhouse_client
    from veille_analytics.report import collect, write_report

    if to <= from_:
        errors.print("[red]--to must be after --from[/red]")
        raise typer.Exit(2)
    client = clickhouse_client(_settings())
    report = collect(client, brand, from_.date(), to.date())
    html, pdf = write_report(report, out)
    console.print(f"HTML: {html}\nPDF:  {pdf}")


@app.command("erase")
def erase(
    author: Annotated[str | None, typer.Option("--author", help="Pseudonymous author id, as stored.")] = None,
    handle: Annotated[
        str | None, typer.Option(help="The person's id or handle at the source, as the source gives it.")
    ] = None,
    source: Annotated[str | None, typer.Option(help="The source of --handle, e.g. webhook, mastodon, reviews.")] = None,
) -> None:
    """Delete one author's mentions everywhere and drop them from alert evidence.

    With --handle and --source, the pseudonyms under the current and every retired author key are erased.
    """
    from veille_analytics.clickhouse import clickhouse_client
    from veille_analytics.privacy import erase_author
    from veille_ingest.reach import pseudonyms

    settings = _settings()
    if (author is None) == (handle is None) or (handle is not None and not source):
        errors.print("[red]give either --author, or --handle with --source[/red]")
        raise typer.Exit(2)
    keys = [key.get_secret_value() for key in (settings.author_key, *settings.author_keys_retired)]
    ids = [author] if author is not None else pseudonyms(keys, source or "", handle or "")
    client = clickhouse_client(settings)
    for author_id in ids:
        done = erase_author(client, author_id)
        console.print(f"erased {done.mentions} mention(s) of {done.author_id}; {done.alerts_touched} alert(s) updated")


@ingest_app.command("file")
def ingest_file(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A .jsonl or .csv file of posts.")],
    source: Annotated[str, typer.Option(help="Source name, unless a row names its own.")] = "file",
    mapping: Annotated[
        list[str] | None, typer.Option("--map", help="field=column, e.g. --map text=body --map id=post_id")
    ] = None,
) -> None:
    """Replay a JSONL or CSV file of posts: matched, de-duplicated, published to mentions-raw."""
    from veille_ingest.sources import parse_mapping, read_posts

    try:
        columns = parse_mapping(mapping or [])
    except ValueError as error:
        errors.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    _ingest(path, read_posts(path, source, columns))


@ingest_app.command("reviews")
def ingest_reviews(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A .csv, .json or .jsonl export.")],
    brand: Annotated[str, typer.Option(help="The employer the reviews are about (a watched brand).")],
    source: Annotated[str, typer.Option(help="Source name, e.g. the review site.")] = "employee-reviews",
) -> None:
    """Import employee reviews (rating, pros, cons, role, location, date) as employer-brand mentions."""
    from veille_ingest.sources import read_reviews

    _ingest(path, read_reviews(path, source, brand))


def _ingest(path: Path, items: Any) -> None:
    from rich.progress import Progress

    from veille_ingest.delivery import replay
    from veille_ingest.watchlist import WatchListError

    settings = _settings()
    size = sum(1 for line in path.open("rb") if line.strip())
    try:
        with Progress(console=errors, transient=True, disable=not errors.is_terminal) as progress:
            task = progress.add_task(f"ingesting {path.name}", total=size)
            tally = asyncio.run(replay(settings, items, lambda n: progress.advance(task, n)))
    except WatchListError as error:
        errors.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    counts = {k: v for k, v in tally.as_dict().items() if k != "rejected"}
    console.print(" ".join(f"{name} {count}" for name, count in counts.items()) + f" rejected {len(tally.rejected)}")
    for rejected in tally.rejected[:20]:
        errors.print(f"[yellow]{rejected.where}[/yellow]: {rejected.error}")
    if len(tally.rejected) > 20:
        errors.print(f"… and {len(tally.rejected) - 20} more")
    if tally.rejected:
        raise typer.Exit(1)


@app.command("backtest")
def backtest(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A .jsonl or .csv export of posts.")],
    watchlist: Annotated[Path | None, typer.Option(help="Watch list to try (default: VEILLE_WATCHLIST).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write every alert revision here, one JSON object a line.")] = None,
    source: Annotated[str, typer.Option(help="Source name, unless a row names its own.")] = "file",
) -> None:
    """Replay an export through ingest, the model and escalation, in story time, with no broker: the alerts it
    would have raised."""
    import json
    from datetime import datetime

    from rich.progress import Progress

    from veille.backtest import run_backtest
    from veille_contracts.codec import encode
    from veille_escalation.engine import Escalation
    from veille_ingest.delivery import build_pipeline
    from veille_ingest.sources import read_posts
    from veille_ingest.watchlist import WatchListError, load_watchlist

    settings = _settings()
    try:
        pipeline = build_pipeline(settings, load_watchlist(watchlist or settings.watchlist))
    except (WatchListError, OSError) as error:
        errors.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    scorer = _scorer(settings)
    size = sum(1 for line in path.open("rb") if line.strip())
    with Progress(console=errors, transient=True, disable=not errors.is_terminal) as progress:
        task = progress.add_task(f"backtesting {path.name}", total=size)
        result = run_backtest(
            read_posts(path, source),
            pipeline,
            lambda mentions: scorer.score(mentions, max((m.published_at for m in mentions), default=datetime.min)),
            Escalation(),
            lambda n: progress.advance(task, n),
        )
    if out is not None:
        with out.open("w", encoding="utf-8") as sink:
            for alert in result.alerts:
                sink.write(encode(alert).decode() + "\n")
    summary = result.summary()
    console.print(json.dumps(summary, indent=2, ensure_ascii=False))
    for alert in result.alerts:
        if alert.revision == 1:
            console.print(f"{alert.created_at:%Y-%m-%d %H:%M} {alert.kind.value:<18} {alert.brand}: "
                          f"{alert.explanation.text_en[:110]}")  # fmt: skip
    for rejected in result.rejected[:20]:
        errors.print(f"[yellow]{rejected.where}[/yellow]: {rejected.error}")


@app.command("run")
def run(service: Annotated[str, typer.Argument(help="ingest | sentiment | escalation | analytics")]) -> None:
    """Run one service in the foreground until SIGTERM or Ctrl-C."""
    if service not in SERVICES:
        errors.print(f"[red]unknown service {service!r}[/red]; one of: {', '.join(SERVICES)}")
        raise typer.Exit(2)
    settings = _settings()
    try:
        module = importlib.import_module(f"veille_{service}.app")
    except ModuleNotFoundError as error:
        errors.print(f"[red]service {service} is not installed or not built yet[/red] ({error.name})")
        raise typer.Exit(2) from None
    serve = getattr(module, "serve", None)  # a service with HTTP endpoints serves them too
    asyncio.run(serve(settings) if serve else module.create_app(settings).run())


@app.command("demo")
def demo(
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep the services and infrastructure running after the story.")
    ] = False,
) -> None:
    """Start the embedded infrastructure and the four services, play the bundled story through them, show it all."""
    from veille.demo import run_demo
    from veille.roundtrip import run_round_trip

    infra = EmbeddedInfra(_settings())
    try:
        infra.up()
    except InfraError as error:
        errors.print(f"[red]infra up failed:[/red] {error}")
        raise typer.Exit(1) from None
    try:
        _print_status(infra)
        settings = load_settings()
        ok = asyncio.run(run_round_trip(settings, console))
        ok = ok and run_demo(settings, console, follow)
    finally:
        infra.down()
        console.print("embedded infrastructure stopped")
    if not ok:
        raise typer.Exit(1)


@app.command("score")
def score(
    progress: Annotated[
        bool | None, typer.Option("--progress/--no-progress", help="Progress bar on stderr; default: when a terminal.")
    ] = None,
) -> None:
    """Score JSON lines from stdin (`text`, optional `id`, `lang`) and write them, read, to stdout."""
    import sys

    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from veille_sentiment import jsonl

    scorer = _scorer(_settings())
    show = errors.is_terminal if progress is None else progress
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=errors,
        disable=not show,
        transient=False,
    ) as bar:
        task = bar.add_task("scoring", total=None)

        def on_line(tally: jsonl.Tally) -> None:
            if tally.lines % 16 == 0:
                counts = f"{tally.scored} scored, {tally.unscorable} unscorable, {tally.errors} refused"
                bar.update(task, description=f"{tally.lines} lines: {counts}")

        tally = jsonl.run(scorer, sys.stdin, sys.stdout, on_line, _language_detector())
        on_line(jsonl.Tally(lines=0, scored=tally.scored, unscorable=tally.unscorable, errors=tally.errors))
    if tally.errors:
        errors.print(f"[yellow]{tally.errors} line(s) refused[/yellow]; see their `error` field")
        raise typer.Exit(1)


def _language_detector() -> Any:
    """Ingest's language identifier, so that `veille score` tells languages as the pipeline does."""
    from veille_ingest.normalise import Normaliser

    normaliser = Normaliser()
    return lambda text: normaliser.language(text)[0]


def _scorer(settings: VeilleSettings) -> Any:
    from veille_sentiment.encoder import load_encoder
    from veille_sentiment.heads import load_heads
    from veille_sentiment.scoring import Scorer

    try:
        return Scorer(load_encoder(settings), load_heads())
    except (OSError, ValueError) as error:
        errors.print(f"[red]the model cannot be loaded:[/red] {error}")
        raise typer.Exit(2) from None


@model_app.command("info")
def model_info() -> None:
    """Print JSON: the encoder's name, version and transformers directory, and the heads' version."""
    import json

    from veille_sentiment.encoder import resolve_source
    from veille_sentiment.heads import load_heads

    source = resolve_source(_settings())
    heads = load_heads()
    info = {
        "encoder": {
            "name": source.name,
            "version": source.version,
            "path": source.location,
            "embedded": source.embedded,
        },
        "heads": {
            "version": heads.version,
            "trained_with": heads.card.get("encoder"),
            "labels": heads.card.get("heads"),
        },
    }
    print(json.dumps(info, indent=2, ensure_ascii=False))


@model_app.command("build")
def model_build() -> None:
    """Build the embedded encoder and its int8 export once for this machine (reused afterwards)."""
    from veille_sentiment.encoder import prepare

    source, exported = prepare(_settings())
    print(f"encoder: {source.location}")
    if exported:
        print(f"int8 export: {exported}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
