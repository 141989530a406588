"""Where the suite's data lives, whichever folder a test module sits in."""

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
FIXTURES = TESTS / "fixtures"
GOLDEN = TESTS / "golden"


def fixture_path(*parts: str) -> Path:
    return FIXTURES.joinpath(*parts)
