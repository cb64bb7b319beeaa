# quotebot in a container. UNTESTED: no container engine runs where quotebot is
# developed and tested; this file describes the deployment in README.md
# ("Deployment") and is kept in step with `make setup`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    QUOTEBOT_HOST=0.0.0.0 \
    QUOTEBOT_CORPUS=/data/corpus \
    QUOTEBOT_INDEX_DIR=/data/index \
    XDG_CONFIG_HOME=/config

WORKDIR /app
# The CPU build of torch goes in first, so nothing later pulls a CUDA build;
# constraints.txt pins the rest to the set `make setup` installs.
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md constraints.txt ./
COPY bot ./bot
COPY index ./index
RUN pip install --no-cache-dir -c constraints.txt . && useradd --system --uid 10001 quotebot \
    && mkdir -p /data/index /config && chown -R quotebot /data /config && chmod 700 /config
COPY --chown=quotebot corpus /data/corpus

USER quotebot
# .quotebot/ (the SQLite store and key file when no database URL is set) lands in /data.
WORKDIR /data
EXPOSE 3000
# Slack HTTP mode; /healthz and /metrics on the same port. SIGTERM stops it
# gracefully (answers in progress finish).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s \
    CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:3000/healthz', timeout=4)"
STOPSIGNAL SIGTERM
ENTRYPOINT ["quotebot"]
CMD ["run", "slack", "--http", "--port", "3000"]
