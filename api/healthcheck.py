"""Container health checks (docker-compose.yml), with no Flask app to build: exit status 0 when healthy.

python -m api.healthcheck http://127.0.0.1:8000/api/v1/health   # an API process: it answers `ok`
python -m api.healthcheck                                        # a worker or the scheduler: the
                                                                 # database and Redis it needs answer
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request


def api_healthy(url: str, timeout: float = 5.0) -> tuple[bool, str]:
    """GET /health answers 200 with status `ok` (database reachable, queue reachable or in-process)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            body = json.loads(answer.read())
    except (OSError, ValueError) as exc:
        return False, f"{url}: {exc}"
    return body.get("status") == "ok", json.dumps(body)


def dependencies_healthy(timeout: float = 5.0) -> tuple[bool, str]:
    """The database of DATABASE_URL answers `select 1`, and Redis of REDIS_URL (if set) answers PING."""
    import sqlalchemy as sa
    from redis import Redis
    from redis.exceptions import RedisError

    from engine.db import normalize_url

    problems = []
    database = os.environ.get("DATABASE_URL")
    if database:
        engine = sa.create_engine(normalize_url(database), poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("select 1"))
        except sa.exc.SQLAlchemyError as exc:
            problems.append(f"database: {type(exc).__name__}")
        finally:
            engine.dispose()
    redis = os.environ.get("REDIS_URL")
    if redis:
        try:
            Redis.from_url(redis, socket_connect_timeout=timeout, socket_timeout=timeout).ping()
        except RedisError as exc:
            problems.append(f"redis: {type(exc).__name__}")
    return not problems, "; ".join(problems) or "ok"


def main(argv: list[str]) -> int:
    healthy, detail = api_healthy(argv[0]) if argv else dependencies_healthy()
    print(detail)
    return 0 if healthy else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
