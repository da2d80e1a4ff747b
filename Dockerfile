# segment-service: the package without dev tools, run as a non-root user.
#   docker build -t segment-service .
#   docker run -p 8080:8080 -v segment-data:/data segment-service             # embedded PostgreSQL in /data
#   docker run -p 8080:8080 -e DATABASE_URL=postgresql://… segment-service    # your PostgreSQL
# compose.yaml runs it beside a PostgreSQL container; docs/operations.md, "Deployment", has the details.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# The package with the runtime versions of requirements.lock (what `make run` installs too; `make lock` renews it).
COPY pyproject.toml README.md LICENSE requirements.lock ./
COPY src ./src
RUN pip install --root-user-action=ignore --constraint=requirements.lock . \
 && useradd --system --uid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin segment \
 && mkdir /data \
 && chown segment:segment /data

# Not root: a service needs no root, and the embedded PostgreSQL (used when DATABASE_URL is unset) refuses to run as
# root. XDG_RUNTIME_DIR is where the embedded server keeps its lock file.
USER segment
ENV SEGMENT_SERVICE_DATA_DIR=/data \
    XDG_RUNTIME_DIR=/tmp
VOLUME ["/data"]
EXPOSE 8080

# Liveness only (the process answers); orchestrators that route traffic should also probe /health/ready.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health/live', timeout=2)"]

CMD ["segment-service", "serve", "--host", "0.0.0.0"]
