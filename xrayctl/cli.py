"""Placeholder, replaced by the click commands."""


def main() -> None:
    raise SystemExit("xrayctl: not yet built")
