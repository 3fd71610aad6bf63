# One image for every role: api (gunicorn), worker (rq), scheduler, migrations.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY engine engine
COPY api api
COPY workers workers
COPY bpmn bpmn
RUN pip install --no-cache-dir '.[prod]' && useradd --create-home aduan && mkdir -p /data/attachments && chown aduan /data/attachments
USER aduan
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "--access-logfile", "-", "api.wsgi:app"]
