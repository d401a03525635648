"""The topic list (streams/kafka/topics.py) is data: importing it loads no Kafka client (the engine
reads it); creating topics is streams/kafka/admin.py's job."""
from __future__ import annotations

import subprocess
import sys

from streams.kafka.topics import TOPICS, Topics


def test_topic_list_imports_no_kafka_client():
    code = "import sys, streams.kafka.topics; print(sorted(m for m in sys.modules if m.startswith('confluent_kafka')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_prefixed_names_and_specs():
    t = Topics("t1.")
    assert t.postings == "t1.pms.folio-postings.v1"
    assert t.all() == ["t1." + s.name for s in TOPICS]
    assert t.spec("t1.fx.rates.v1").cleanup_policy == "compact"
    assert "t1.harmony.jobs.v1" not in t.inputs and t.dlq in t.outputs
