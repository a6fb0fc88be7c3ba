"""A plain Kafka consumer with no optional compression codec, as the Streamlit dashboards
of the pipelines ballotflow replaces read results: kafka-python alone (gzip is in Python's
standard library; lz4, snappy and zstd are not, and are blocked here).

    python3 plain_consumer.py BROKERS TOPIC...

Fails if a topic does not exist; otherwise prints every message of every partition of the
topics, from the beginning to the current end, as JSON lines {"topic", "partition",
"offset", "key", "value"} (UTF-8 text; a null value is a tombstone), then one line
{"batches": {codec: count}} of the record batches read by compression codec (0 none,
1 gzip), so a caller can tell that compressed batches were read at all.
"""

import json
import sys
import time

# No optional codec, even if one is installed.
for codec in ("lz4", "lz4.frame", "snappy", "zstandard", "zstd", "cramjam", "xxhash"):
    sys.modules[codec] = None

from collections import Counter  # noqa: E402

from kafka import KafkaConsumer, TopicPartition  # noqa: E402
from kafka.record import default_records  # noqa: E402

# Count record batches by codec as the client decodes them.
batches = Counter()
_uncompress = default_records.DefaultRecordBatch._maybe_uncompress


def _counting_uncompress(batch):
    batches[batch.compression_type] += 1
    return _uncompress(batch)


default_records.DefaultRecordBatch._maybe_uncompress = _counting_uncompress


def main(brokers, topics):
    consumer = KafkaConsumer(bootstrap_servers=brokers, enable_auto_commit=False, group_id=None, consumer_timeout_ms=10_000)
    existing = consumer.topics()
    missing = [t for t in topics if t not in existing]
    if missing:
        sys.exit(f"topics missing: {missing}")
    partitions = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t))]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    ends = consumer.end_offsets(partitions)
    remaining = {tp for tp in partitions if ends[tp] > 0}
    text = lambda b: None if b is None else b.decode("utf-8")
    deadline = time.time() + 60
    while remaining:
        if time.time() > deadline:
            sys.exit(f"could not read to the end of {sorted(str(tp) for tp in remaining)}")
        batch = consumer.poll(timeout_ms=1_000)
        for tp, messages in batch.items():
            for m in messages:
                print(json.dumps({"topic": m.topic, "partition": m.partition, "offset": m.offset, "key": text(m.key), "value": text(m.value)}))
        remaining = {tp for tp in remaining if consumer.position(tp) < ends[tp]}
    consumer.close()
    print(json.dumps({"batches": dict(batches)}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
