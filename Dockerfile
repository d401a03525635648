# The One Harmony engine image: `harmony worker` by default (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml ./
COPY processors ./processors
COPY schemas ./schemas
COPY streams ./streams
RUN pip install . && useradd --system --uid 10001 --home-dir /app harmony
# The program configuration is a file the operator edits (hot-reloaded): mount your own over it.
COPY config ./config

# The installed package does not carry config/: point at the file explicitly. The API must listen
# on every interface inside a container.
ENV HARMONY_CONFIG=/app/config/program.toml \
    HARMONY_WEB_HOST=0.0.0.0 \
    HARMONY_WEB_PORT=6066

USER harmony
EXPOSE 6066
ENTRYPOINT ["harmony"]
CMD ["worker"]
