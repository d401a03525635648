"""`harmony simulate`: seeded PMS/POS traffic. `generator` makes the records (the mix in `mix`, the
record types in `messages`, the description in `summary`), `publish` sends them, `run` is the command."""
