"""The project's settings, with Amazon SNS's certificate host pointed at the benchmark's own
HTTPS server on loopback (bench/webhook_load.py): never used outside the benchmark."""

import os

from config.settings import *  # noqa: F403

AMAZON_SNS_CERT_HOST = r"127\.0\.0\.1:\d+"
AMAZON_SNS_CA_FILE = os.environ["BENCH_SNS_CA_FILE"]
LOGGING = {**LOGGING, "root": {"handlers": ["console"], "level": "ERROR"}}  # noqa: F405
