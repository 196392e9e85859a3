# The same steps as the README's `make run`: install the package with its pinned
# dependencies, compile the translations, run `python -m bot` as a non-root user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MPLBACKEND=Agg \
    DATABASE_URL=sqlite+aiosqlite:////data/kpibot.sqlite3

# `--build-arg EXTRAS=cluster` adds PostgreSQL, Redis and the shared limiter (deploy/compose.yaml).
ARG EXTRAS=

WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY kpi ./kpi
COPY storage ./storage
RUN pip install --no-cache-dir -c constraints.txt ".${EXTRAS:+[$EXTRAS]}" \
    && python -m bot.i18n \
    && useradd --system --uid 10001 --home-dir /app kpibot \
    && mkdir -p /data && chown kpibot /data

USER kpibot
VOLUME ["/data"]
CMD ["python", "-m", "bot"]
