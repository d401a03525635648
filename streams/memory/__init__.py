"""The engine's ports in process memory (no Redis): for engine tests and anything that wants an
engine without servers. Same behaviour as the Redis adapter (tests/contract/test_member_store.py)."""
