# The voucher API: `docker compose up` runs it with PostgreSQL (see docker-compose.yml).
# Alone, it serves a SQLite file in the /data volume:
#   docker build -t voucher . && docker run -p 127.0.0.1:8000:8000 -v voucher-data:/data voucher
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY . /app
RUN pip install /app \
    && useradd --system --uid 10001 --home-dir /data voucher \
    && mkdir -p /data && chown voucher /data

USER voucher
ENV VOUCHER_BIND=0.0.0.0:8000 \
    VOUCHER_DATABASE_URL=sqlite:////data/voucher.db \
    VOUCHER_POLICIES=/app/policies
EXPOSE 8000
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s \
    CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=3).status != 200)"
CMD ["gunicorn", "-c", "gunicorn.conf.py"]
