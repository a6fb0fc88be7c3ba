"""A plain Kafka producer, as the pipelines ballotflow replaces feed their votes: it
creates the input topics it is told to (and nothing else), then sends the messages of a
plan in order, uncompressed, with kafka-python.

    python3 plain_producer.py BROKERS PLAN.jsonl TOPIC:PARTITIONS...

Each line of the plan is {"topic", "partition" (or null), "key" (or null), "value" (or
null)}, keys and values as hex; a null value is a tombstone.
"""

import json
import sys

from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic


def main(brokers, plan, topics):
    admin = KafkaAdminClient(bootstrap_servers=brokers, client_id="plain-producer")
    wanted = [NewTopic(name, int(partitions), 1) for name, partitions in (t.split(":") for t in topics)]
    admin.create_topics(new_topics=wanted)
    admin.close()
    producer = KafkaProducer(bootstrap_servers=brokers, max_request_size=4_000_000, linger_ms=5)
    decode = lambda field: None if field is None else bytes.fromhex(field)
    sent = 0
    with open(plan) as lines:
        for line in lines:
            m = json.loads(line)
            producer.send(m["topic"], key=decode(m["key"]), value=decode(m["value"]), partition=m["partition"])
            sent += 1
    producer.flush()
    producer.close()
    print(f"sent {sent} messages", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
