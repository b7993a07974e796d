"""The demo bank on the embedded configuration, for the in-process benchmarks: a fresh SQLite
database in a temporary folder, the demo knowledge graph, the template backend, no Redis."""

import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def start_demo_bank(prefix: str, models_from: str | None) -> Path:
    """Set Django up on a new folder (with a copy of `models_from`/models, if given), migrate and
    import the demo knowledge graph; return the folder."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    if models_from:
        shutil.copytree(Path(models_from) / "models", work / "models")
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "chatbot.settings",
            "VAR_DIR": str(work),
            "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}",
            "LLM_BACKEND": "template",
        }
    )
    os.environ.pop("REDIS_URL", None)
    sys.path.insert(0, str(REPO_ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("import_knowledge", str(settings.DEMO_KNOWLEDGE_FILE), verbosity=0)
    return work
