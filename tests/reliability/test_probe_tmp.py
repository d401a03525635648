import time
from tests.reliability import model, support

def test_probe(kafka_bootstrap, clean_redis_url, topics, unique, workers_for):
    st = model.generate(11)
    t0 = time.monotonic()
    support.publish(kafka_bootstrap, topics, st.all)
    print("published", time.monotonic() - t0)
    ws = workers_for(clean_redis_url, topics)
    w = ws.start(HARMONY_CRASH_AT="after_apply", HARMONY_CRASH_AFTER=3, HARMONY_SESSION_TIMEOUT_MS=2000)
    t0 = time.monotonic()
    w.proc.wait(60)
    print("crashed", w.returncode, time.monotonic() - t0)
    w2 = ws.start(HARMONY_SESSION_TIMEOUT_MS=2000)
    t0 = time.monotonic()
    support.wait_caught_up(kafka_bootstrap, unique, topics, 90, ws)
    print("caught up", time.monotonic() - t0)
    w2.stop()
    print(w2.log_text()[-3000:])
    probs = support.all_problems(kafka_bootstrap, topics, clean_redis_url, st)
    print(len(probs), probs[:10])
    assert not probs
