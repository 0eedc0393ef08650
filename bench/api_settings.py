"""bench/api.py's gunicorn settings: the project's, with the bench-only URLs on top."""

from config.settings import *  # noqa: F403  (every setting, as in production)

ROOT_URLCONF = "bench.api_urls"
