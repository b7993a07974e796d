"""Exit 0 when DATABASE_URL's PostgreSQL and REDIS_URL's Redis answer; else print why and exit 1."""

import os
import sys

import psycopg
import redis


def main() -> int:
    """Check both services once, quickly."""
    try:
        psycopg.connect(os.environ["DATABASE_URL"], connect_timeout=3).close()
    except Exception as error:
        print(f"PostgreSQL at {os.environ['DATABASE_URL']} is not reachable ({error})")
        return 1
    try:
        redis.Redis.from_url(os.environ["REDIS_URL"], socket_connect_timeout=3).ping()
    except Exception as error:
        print(f"Redis at {os.environ['REDIS_URL']} is not reachable ({error})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
