"""`make bench`: run every benchmark script and print one table of figures against the issue's targets.

Each `tests/bench/bench_*.py` runs in a child process of its own (a fresh interpreter, so one script's heap,
threads or imports never weigh on the next), in the order of the issue's figures; its progress goes straight
to stderr and the JSON lines it emits on stdout (`benchlib.emit`) become the table's rows. A script that
crashes, or emits nothing, becomes a row saying so, and the others still run. Nothing here asserts: a missed
target is a row marked NO, and the exit status is 0 unless a script crashed.

    .venv/bin/python tests/bench/run.py                    # everything (the peers are installed once)
    .venv/bin/python tests/bench/run.py --only cli --only invoke
    .venv/bin/python tests/bench/run.py --markdown         # the table as Markdown, for the README
    .venv/bin/python tests/bench/run.py --last --markdown  # the last run's table again, nothing re-run

Every run's results are kept in .bench/last-run.json for --last.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from benchlib import BENCH_DIR, Figure, say, wall

HERE = Path(__file__).resolve().parent
# The figures, in its order; a script not listed here runs after these, by name.
SECTIONS = {
    "cli": "1. One trace on screen",
    "bigtrace": "2. A big trace",
    "many": "3. Many traces",
    "invoke": "4. Local invocations",
    "store": "5. The store",
    "otel": "6. OpenTelemetry",
    "search": "7. Transaction Search",
    "install": "8. Installed as users do",
    "answers": "9. Answers: critical path, compare, service map",
    "scale": "10. A hundred thousand traces",
    "browse": "11. browse and tail",
}
SCRIPT_TIMEOUT = 15 * 60.0
WIDTH = 110
COLUMNS = ("figure", "xrayctl", "peer", "ratio", "target", "met")
LAST_RUN = BENCH_DIR / "last-run.json"


@dataclass
class Result:
    name: str
    rows: list[Figure] = field(default_factory=list)
    seconds: float = 0.0
    failure: str = ""  # why the script did not finish cleanly


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="run only this script (cli, bench_cli or bench_cli.py); repeatable",
    )
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--last", action="store_true", help="print the last run's table; run nothing")
    args = parser.parse_args(argv)
    if args.last:
        machine, results = load_last()
        show(machine, results, markdown=args.markdown)
        return 0
    scripts = discover()
    if args.only:
        wanted = [_short(name) for name in args.only]
        unknown = [name for name in wanted if name not in scripts]
        if unknown:
            parser.error(f"no benchmark named {', '.join(unknown)}; there are: {', '.join(scripts)}")
        scripts = {name: path for name, path in scripts.items() if name in wanted}
    machine = describe_machine()
    results = [run_script(name, path) for name, path in scripts.items()]
    save_last(machine, results)
    show(machine, results, markdown=args.markdown)
    return 1 if any(result.failure for result in results) else 0


def show(machine: str, results: list[Result], *, markdown: bool) -> None:
    try:
        print(render_markdown(machine, results) if markdown else render_text(machine, results), flush=True)
    except BrokenPipeError:  # `| head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def discover() -> dict[str, Path]:
    """The benchmark scripts by short name ("cli" for bench_cli.py), in the issue's order."""
    found = {_short(path.name): path for path in HERE.glob("bench_*.py")}
    known = [name for name in SECTIONS if name in found]
    return {name: found[name] for name in known + sorted(set(found) - set(known))}


def _short(name: str) -> str:
    return name.removesuffix(".py").removeprefix("bench_")


def describe_machine() -> str:
    """One line for above the table: what the figures were measured on, and how busy it was."""
    try:
        import peers

        peer_versions = peers.versions()
        tools = f"awscli {peer_versions['awscli']}, sam {peer_versions['aws-sam-cli']}"
    except (RuntimeError, OSError) as exc:  # the table still prints; the peers' rows will say what failed
        say(f"run: the peers are not available: {exc}")
        tools = "awscli and sam not installed"
    try:
        mine = version("xrayctl")
    except PackageNotFoundError:
        mine = "not installed"
    load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
    # How long this machine takes to start Python at all, now: the floor under every wall time in the table.
    bare = statistics.median(wall([sys.executable, "-c", "pass"], os.environ) for _ in range(7))
    return (
        f"{os.cpu_count()} cores, {platform.system()} {platform.machine()}, load {load} at start, "
        f"Python start-up {bare * 1000:.0f} ms; Python {platform.python_version()}; xrayctl {mine}; {tools}"
    )


def save_last(machine: str, results: list[Result]) -> None:
    LAST_RUN.parent.mkdir(parents=True, exist_ok=True)
    LAST_RUN.write_text(json.dumps({"machine": machine, "results": [asdict(result) for result in results]}))


def load_last() -> tuple[str, list[Result]]:
    try:
        saved = json.loads(LAST_RUN.read_text())
    except (OSError, ValueError) as exc:
        raise SystemExit(f"run: no last run to show ({exc}); run without --last first") from None
    results = [
        Result(**{**result, "rows": [Figure(**row) for row in result["rows"]]}) for result in saved["results"]
    ]
    return saved["machine"], results


def run_script(name: str, path: Path) -> Result:
    say(f"run: {path.name}")
    result = Result(name)
    started = time.perf_counter()
    try:
        completed = subprocess.run(
            [sys.executable, str(path)],
            stdout=subprocess.PIPE,
            stderr=None,  # the script's progress reaches the person waiting as it happens
            text=True,
            timeout=SCRIPT_TIMEOUT,
            check=False,
            cwd=HERE.parents[1],
        )
        stdout, code = completed.stdout, completed.returncode
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or b""
        stdout, code = out.decode() if isinstance(out, bytes) else out, None
    result.seconds = time.perf_counter() - started
    for line in stdout.splitlines():
        try:
            result.rows.append(Figure(**json.loads(line)))
        except (ValueError, TypeError):
            say(f"run: {path.name} printed a line that is not a figure: {line[:200]}")
    if code is None:
        result.failure = f"timed out after {SCRIPT_TIMEOUT:.0f} s"
    elif code != 0:
        result.failure = f"crashed (exit {code})"
    elif not result.rows:
        result.failure = "reported no figure"
    say(
        f"run: {path.name} took {result.seconds:.0f} s"
        + (f", {result.failure}: its stderr above says why" if result.failure else "")
    )
    return result


def _cells(figure: Figure) -> list[str]:
    met = {True: "yes", False: "NO", None: "-"}[figure.met]
    return [figure.figure, figure.xrayctl, figure.peer or "-", figure.ratio or "-", figure.target or "-", met]


def _rows(result: Result) -> list[Figure]:
    rows = list(result.rows)
    if result.failure:
        rows.append(Figure(f"bench_{result.name}.py {result.failure}", "-", "-", met=False))
    return rows


def _title(result: Result) -> str:
    return f"{SECTIONS.get(result.name, result.name)}  [{result.name}, {result.seconds:.0f} s]"


def render_text(machine: str, results: list[Result]) -> str:
    """The table for a terminal or a log, 110 columns; colour only on a terminal (rich decides)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    # Values wrap inside narrow columns so that the figure keeps about 40 columns and nothing is cut off.
    table.add_column("figure", ratio=1, min_width=36, overflow="fold")
    for column, width in (("xrayctl", 24), ("peer", 14), ("ratio", 7), ("target", 16), ("met", 3)):
        table.add_column(
            column, justify="left" if column == "met" else "right", max_width=width, overflow="fold"
        )
    for index, result in enumerate(results):
        if index:
            table.add_section()  # a blank line before each figure of the issue
        table.add_row(Text(_title(result)), style="bold")  # Text: no markup in what scripts report
        for figure in _rows(result):
            cells = _cells(figure)
            table.add_row(*map(Text, cells), style="red" if figure.met is False else None)
    console = Console(width=WIDTH, record=False, highlight=False, soft_wrap=False)
    with console.capture() as capture:
        console.print(machine, markup=False)
        console.print(table)
    return "\n".join(line.rstrip() for line in capture.get().rstrip().splitlines())


def render_markdown(machine: str, results: list[Result]) -> str:
    """The same table as GitHub Markdown, a bold row per figure of the issue."""

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    out = [f"Measured on {machine}.", "", line(list(COLUMNS)), "|---|---:|---:|---:|---:|---|"]
    for result in results:
        out.append(line([f"**{_title(result)}**", "", "", "", "", ""]))
        out.extend(line(_cells(figure)) for figure in _rows(result))
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
