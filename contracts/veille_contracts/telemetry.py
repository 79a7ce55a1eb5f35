"""OpenTelemetry for every service: one trace from ingest to the alert, carried in Kafka headers.

`setup_telemetry` installs the tracer and meter providers a service exports
with (`VEILLE_OTEL_EXPORTER`): `otlp` to the collector (compose, k8s),
`console`, `file` (JSON lines under `$VEILLE_STATE_DIR/telemetry/`, what the
demo and the trace test read), or `none`. With `none` nothing is recorded, but
the trace context still passes through untouched, so a service without
telemetry does not break a trace. Log records carry the current trace and
span ids.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import IO, Any

from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricExporter,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from veille_contracts.settings import VeilleSettings

PROPAGATOR = TraceContextTextMapPropagator()
TRACE_HEADERS = ("traceparent", "tracestate")
METRIC_INTERVAL_MS = 10_000


class _KafkaHeaders(Getter[Iterable[tuple[str, bytes]]]):
    """Reads the W3C trace context from a Kafka record's (name, bytes) headers."""

    def get(self, carrier: Iterable[tuple[str, bytes]], key: str) -> list[str] | None:
        found = [value.decode("ascii", "replace") for name, value in carrier if name.lower() == key]
        return found or None

    def keys(self, carrier: Iterable[tuple[str, bytes]]) -> list[str]:
        return [name for name, _ in carrier]


_GETTER = _KafkaHeaders()


def context_of(headers: Iterable[tuple[str, bytes]] | None) -> Context:
    """The trace context a consumed record carries (an empty one if it carries none)."""
    return PROPAGATOR.extract(list(headers or ()), getter=_GETTER)


def trace_headers() -> dict[str, str]:
    """The current trace context as headers to publish with."""
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier)
    return carrier


def tracer(service: str) -> trace.Tracer:
    return trace.get_tracer(f"veille.{service}")


def _span_line(span: ReadableSpan) -> str:
    return str(span.to_json(indent=None)) + "\n"


def _metrics_line(data: MetricsData) -> str:
    return str(data.to_json(indent=None)) + "\n"


def _exporters(settings: VeilleSettings, service: str) -> tuple[SpanExporter | None, MetricExporter | None]:
    kind = settings.otel_exporter
    if kind == "console":
        return ConsoleSpanExporter(service_name=f"veille-{service}"), ConsoleMetricExporter()
    if kind == "file":
        folder = settings.state_dir / "telemetry"
        folder.mkdir(parents=True, exist_ok=True)
        spans: IO[str] = (folder / f"{service}-spans.jsonl").open("a", encoding="utf-8")
        measures: IO[str] = (folder / f"{service}-metrics.jsonl").open("a", encoding="utf-8")
        return ConsoleSpanExporter(out=spans, formatter=_span_line), ConsoleMetricExporter(
            out=measures, formatter=_metrics_line
        )
    if kind == "otlp":
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.otel_endpoint.rstrip("/")
        return OTLPSpanExporter(f"{endpoint}/v1/traces"), OTLPMetricExporter(f"{endpoint}/v1/metrics")
    return None, None


def setup_telemetry(settings: VeilleSettings, service: str) -> None:
    """Install this process's providers (once) and put trace ids in its log records."""
    spans, measures = _exporters(settings, service)
    resource = Resource.create({"service.name": f"veille-{service}", "service.namespace": "veille"})
    if spans is not None:
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(BatchSpanProcessor(spans, schedule_delay_millis=1000))
        trace.set_tracer_provider(provider)
    if measures is not None:
        reader = PeriodicExportingMetricReader(measures, export_interval_millis=METRIC_INTERVAL_MS)
        metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[reader]))
    handlers = logging.getLogger().handlers or ([logging.lastResort] if logging.lastResort else [])
    for handler in handlers:
        if not any(isinstance(f, TraceIds) for f in handler.filters):
            handler.addFilter(TraceIds())


def flush_telemetry() -> None:
    """Export what is still buffered (the last spans, a last reading of every metric): on a service's shutdown."""
    for provider in (trace.get_tracer_provider(), metrics.get_meter_provider()):
        flush = getattr(provider, "force_flush", None)
        if flush is not None:
            flush()


class TraceIds(logging.Filter):
    """Adds `trace_id` and `span_id` to every log record (empty outside a span)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        record.trace_id = f"{context.trace_id:032x}" if context.is_valid else ""
        record.span_id = f"{context.span_id:016x}" if context.is_valid else ""
        return True


def span_attributes(**values: Any) -> dict[str, Any]:
    """Span attributes with veille's prefix, leaving out the unset ones."""
    return {f"veille.{name}": value for name, value in values.items() if value is not None}
