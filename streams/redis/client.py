"""Redis connection: a single server or a Redis Cluster, detected from the server itself."""
from __future__ import annotations

import redis
from redis.cluster import RedisCluster


def connect(url: str):
    """A client for ``url``; a cluster node's URL gives a cluster client (so scripts and
    pipelines are routed by each member's hash tag)."""
    probe = redis.Redis.from_url(url, socket_timeout=10)
    try:
        clustered = probe.info("cluster").get("cluster_enabled") == 1
    finally:
        probe.close()
    if clustered:
        return RedisCluster.from_url(url, socket_timeout=10)
    return redis.Redis.from_url(url, socket_timeout=10, health_check_interval=30)
