"""The `KAFKA_CONFIG_*` security settings (librdkafka names) as faust/aiokafka credentials, so the
faust app of the worker reaches the same secured cluster as the confluent-kafka clients.

Supported: security.protocol PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL; sasl.mechanism(s) PLAIN,
SCRAM-SHA-256, SCRAM-SHA-512 with sasl.username / sasl.password (MSK SASL/SCRAM, Confluent Cloud API
keys); ssl.ca.location, ssl.certificate.location + ssl.key.location (+ ssl.key.password) for mutual
TLS (MSK TLS), enable.ssl.certificate.verification, ssl.endpoint.identification.algorithm. Anything
else (OAUTHBEARER, GSSAPI) is refused with a clear error rather than silently left out.
"""
from __future__ import annotations

import ssl
from typing import Any

__all__ = ["faust_credentials", "ssl_context"]

_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


def ssl_context(conf: dict[str, Any]) -> ssl.SSLContext:
    """A client TLS context from librdkafka's ssl.* properties (system CAs unless ssl.ca.location)."""
    ctx = ssl.create_default_context(cafile=conf.get("ssl.ca.location") or None)
    if str(conf.get("ssl.endpoint.identification.algorithm", "https")).lower() == "none":
        ctx.check_hostname = False
    if str(conf.get("enable.ssl.certificate.verification", "true")).lower() in ("false", "0"):
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if conf.get("ssl.certificate.location"):
        ctx.load_cert_chain(conf["ssl.certificate.location"], conf.get("ssl.key.location") or None,
                            conf.get("ssl.key.password") or None)
    return ctx


def faust_credentials(conf: dict[str, Any]):
    """faust `broker_credentials` for `conf` (kafka_config()), None for PLAINTEXT."""
    import faust
    protocol = str(conf.get("security.protocol", "PLAINTEXT")).upper()
    if protocol not in _PROTOCOLS:
        raise ValueError(f"security.protocol {protocol!r} is not one of {', '.join(_PROTOCOLS)}")
    if protocol == "PLAINTEXT":
        return None
    ctx = ssl_context(conf) if protocol.endswith("SSL") else None
    if protocol == "SSL":
        return faust.SSLCredentials(ctx)
    mechanism = str(conf.get("sasl.mechanism") or conf.get("sasl.mechanisms") or "GSSAPI").upper()
    if mechanism not in _MECHANISMS:
        raise ValueError(f"sasl.mechanism {mechanism!r} is not supported by the worker's faust app "
                         f"(one of {', '.join(_MECHANISMS)})")
    return faust.SASLCredentials(username=conf.get("sasl.username"), password=conf.get("sasl.password"),
                                 ssl_context=ctx, mechanism=mechanism)
