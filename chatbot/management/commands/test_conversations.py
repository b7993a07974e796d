"""python manage.py test_conversations PATH [--json]"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from chatbot.dialogue.transcripts import TranscriptError, play, read_transcripts


class Command(BaseCommand):
    help = "Play YAML conversation transcripts through the real engine and report every turn."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path, help="a transcript file or a folder of them")
        parser.add_argument("--json", action="store_true", help="print the results as JSON")

    def handle(self, *args, path: Path, json: bool, **options) -> None:
        from chatbot.live_player import live_player

        try:
            transcripts = read_transcripts(path)
        except (TranscriptError, OSError) as error:
            raise CommandError(str(error)) from None
        # The live bot's turn function and configuration: escalation rules included.
        results = [play(transcript, live_player()) for transcript in transcripts]
        summary = summarise(results)
        if json:
            self.stdout.write(
                dumps({"summary": summary, "transcripts": [r.as_dict() for r in results]})
            )
        else:
            self._print(results, summary)
        if summary["transcripts_failed"]:
            raise CommandError(
                f"{summary['transcripts_failed']} of {summary['transcripts']} transcripts failed"
            )

    def _print(self, results, summary) -> None:
        for result in results:
            mark = "PASS" if result.passed else "FAIL"
            self.stdout.write(f"{mark} {result.transcript.name} ({result.transcript.path})")
            for turn in result.turns:
                if not turn.passed:
                    self.stdout.write(f"  turn {turn.number}: visitor: {turn.visitor}")
                    self.stdout.write(f"           bot: {turn.bot}")
                    for failure in turn.failures:
                        self.stdout.write(f"           - {failure}")
        self.stdout.write(
            f"{summary['transcripts_passed']}/{summary['transcripts']} transcripts and "
            f"{summary['turns_passed']}/{summary['turns']} turns passed"
        )


def summarise(results) -> dict:
    """Return pass counts over transcripts and turns."""
    turns = [turn for result in results for turn in result.turns]
    passed = sum(result.passed for result in results)
    return {
        "transcripts": len(results),
        "transcripts_passed": passed,
        "transcripts_failed": len(results) - passed,
        "turns": len(turns),
        "turns_passed": sum(turn.passed for turn in turns),
        "task_success_rate": round(passed / len(results), 4) if results else None,
    }


def dumps(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
