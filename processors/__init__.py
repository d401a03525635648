"""Pure business rules of the One Harmony program: no Kafka, Redis or other I/O here."""
