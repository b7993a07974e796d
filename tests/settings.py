"""Test settings: the environment-driven settings with fast password hashing."""

import tempfile
from pathlib import Path

from chatbot.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Worker threads would otherwise keep connections open past the test database's teardown.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405

# Trained models and other artefacts go to a fresh folder, never a developer's var/.
VAR_DIR = Path(tempfile.mkdtemp(prefix="chatbot-test-var-"))  # noqa: F405

# A loaded CI machine can take a few seconds to classify; tests of the fallback set their own
# short timeout, the others should not see it.
NLU_TIMEOUT_SECONDS = 15.0

# Webhook receivers in tests listen on 127.0.0.1; retries come quickly; no background sweep
# (a test sweeps when it means to).
WEBHOOK_ALLOW_PRIVATE_URLS = True
WEBHOOK_RETRY_BASE_SECONDS = 0.05
WEBHOOK_RETRY_MAX_SECONDS = 0.2
WEBHOOK_SWEEP_SECONDS = 0

# No daily purge timer in the web process a test imports (a test purges when it means to); the
# Celery beat schedule, made from the default time, stays as production has it.
RETENTION_PURGE_AT = None
