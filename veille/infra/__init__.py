"""The embedded infrastructure: a Kafka-protocol broker and a ClickHouse server as local processes."""
