# One image for every role: api (gunicorn), worker (rq), scheduler, migrations.
FROM node:20-slim AS frontend
WORKDIR /app
COPY package.json package-lock.json ./
# `npm ci` bundles the modeler (api/web/modeler) into node_modules/.aduan
COPY api/web/modeler api/web/modeler
RUN npm ci --omit=dev

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 ADUAN_NODE_MODULES=/app/node_modules
WORKDIR /app
# WeasyPrint (the quarterly report) draws text with Pango
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
        libharfbuzz-subset0 fonts-dejavu-core && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY engine engine
COPY api api
COPY workers workers
COPY bench bench
COPY bpmn bpmn
COPY --from=frontend /app/node_modules node_modules
RUN pip install --no-cache-dir '.[prod]' && useradd --create-home aduan && mkdir -p /data/attachments && chown aduan /data/attachments
USER aduan
EXPOSE 8000
CMD ["gunicorn", "--config", "python:api.gunicorn_conf", "--bind", "0.0.0.0:8000", "--workers", "2", "--access-logfile", "-", "api.wsgi:app"]
