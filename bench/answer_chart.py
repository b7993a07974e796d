"""Draw the answer benchmark's right-answer rates, before and after, as an SVG bar chart.

    .venv/bin/python bench/answer_chart.py BEFORE.json AFTER.json --out docs/answer_benchmark.svg

One group of bars per measure (single turns, multi-turn, then each multi-turn pattern), one bar
per run, the targets drawn as ticks. Plain SVG: no plotting library, readable in any browser and
on the project's pages.
"""

import argparse
import json
from html import escape
from pathlib import Path

BAR_WIDTH = 22
GROUP_GAP = 26
CHART_HEIGHT = 220
LEFT = 48
TOP = 40
COLOURS = ("#9aa5b1", "#0a5c5a")
TARGETS = {"single turns": 0.93, "multi-turn": 0.90}
PATTERN_TARGET = 0.80


def measures(figures: dict) -> dict[str, float]:
    """Return the right-answer rate of each measure in one run's figures."""
    rates = {
        "single turns": figures["single_turn"]["rates"]["right"],
        "multi-turn": figures["multi_turn"]["rates"]["right"],
    }
    for pattern, values in figures["multi_turn"]["by_pattern"].items():
        rates[pattern.replace("_", " ")] = values["rates"]["right"]
    return rates


def chart(runs: list[tuple[str, dict[str, float]]]) -> str:
    """Return the SVG for the runs' rates, measure by measure."""
    names = list(runs[0][1])
    group_width = len(runs) * BAR_WIDTH + GROUP_GAP
    width = LEFT + len(names) * group_width + 20
    height = TOP + CHART_HEIGHT + 110
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11" role="img" '
        'aria-label="Share of bot turns answered right, before and after">',
        f'<text x="{LEFT}" y="18" font-size="13">Turns answered right (answer benchmark)</text>',
    ]
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        y = TOP + CHART_HEIGHT * (1 - tick)
        parts.append(f'<line x1="{LEFT}" x2="{width - 10}" y1="{y}" y2="{y}" stroke="#e3e6ea"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4}" text-anchor="end">{tick:.0%}</text>')
    for index, name in enumerate(names):
        x0 = LEFT + index * group_width + GROUP_GAP / 2
        for run_index, (label, rates) in enumerate(runs):
            rate = rates.get(name, 0.0)
            bar = CHART_HEIGHT * rate
            x = x0 + run_index * BAR_WIDTH
            parts.append(
                f'<rect x="{x}" y="{TOP + CHART_HEIGHT - bar}" width="{BAR_WIDTH - 3}" '
                f'height="{bar}" fill="{COLOURS[run_index % len(COLOURS)]}">'
                f"<title>{escape(label)}, {escape(name)}: {rate:.1%}</title></rect>"
            )
        target = TARGETS.get(name, PATTERN_TARGET)
        y = TOP + CHART_HEIGHT * (1 - target)
        parts.append(
            f'<line x1="{x0 - 3}" x2="{x0 + len(runs) * BAR_WIDTH}" y1="{y}" y2="{y}" '
            'stroke="#c0392b" stroke-width="2"/>'
        )
        label_x, label_y = x0 + len(runs) * BAR_WIDTH / 2, TOP + CHART_HEIGHT + 12
        parts.append(
            f'<text x="{label_x}" y="{label_y}" text-anchor="end" '
            f'transform="rotate(-40 {label_x} {label_y})">{escape(name)}</text>'
        )
    legend_y = height - 14
    for run_index, (label, _) in enumerate(runs):
        x = LEFT + run_index * 160
        parts.append(
            f'<rect x="{x}" y="{legend_y - 9}" width="10" height="10" '
            f'fill="{COLOURS[run_index % len(COLOURS)]}"/>'
        )
        parts.append(f'<text x="{x + 14}" y="{legend_y}">{escape(label)}</text>')
    parts.append(
        f'<line x1="{LEFT + 340}" x2="{LEFT + 360}" y1="{legend_y - 4}" y2="{legend_y - 4}" '
        'stroke="#c0392b" stroke-width="2"/>'
    )
    parts.append(f'<text x="{LEFT + 364}" y="{legend_y}">target</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="answer benchmark JSON files, in order")
    parser.add_argument("--labels", nargs="+", help="a label per run (default: the file names)")
    parser.add_argument("--out", type=Path, required=True)
    arguments = parser.parse_args()
    labels = arguments.labels or [path.stem for path in arguments.runs]
    runs = [
        (label, measures(json.loads(path.read_text())))
        for label, path in zip(labels, arguments.runs, strict=True)
    ]
    arguments.out.write_text(chart(runs))
    print(f"wrote {arguments.out}")


if __name__ == "__main__":
    main()
