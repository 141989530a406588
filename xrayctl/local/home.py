"""Where the local stack keeps its data (the trace store, serve.json, serve.lock), and what to install for it.

The store is data, not configuration, so it lives in the platform's data folder: `$XDG_DATA_HOME/xrayctl`
(default `~/.local/share/xrayctl`) on Linux and other POSIX systems, `~/Library/Application Support/xrayctl`
on macOS, `%LOCALAPPDATA%\\xrayctl` on Windows (not the roaming profile: a store can be large). `XRAYCTL_HOME`
overrides it. Versions up to 0.1.0 kept it in click's app folder, a config folder (`~/.config/xrayctl` on
Linux, `%APPDATA%\\xrayctl` on Windows; macOS's is the same as now): a store found there, with none in the new
place, is still used where it is, not moved (a `local serve` may be running on it; moving it is the user's
call: `mv ~/.config/xrayctl ~/.local/share/xrayctl`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

STORE_FILE = "traces.sqlite3"
APP = "xrayctl"


def default_home(env: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """XRAYCTL_HOME, else the platform's data folder, else an existing store in the old config folder."""
    env = os.environ if env is None else env
    platform = platform or sys.platform
    if env.get("XRAYCTL_HOME"):
        return Path(env["XRAYCTL_HOME"])
    home = data_home(env, platform)
    legacy = legacy_home(env, platform)
    if not home.exists() and legacy != home and (legacy / STORE_FILE).exists():
        return legacy
    return home


def data_home(env: Mapping[str, str], platform: str) -> Path:
    if platform.startswith("win"):
        return Path(env.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / APP
    if platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP
    return Path(env.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / APP


def legacy_home(env: Mapping[str, str], platform: str) -> Path:
    """click.get_app_dir("xrayctl") as versions up to 0.1.0 used it (roaming, not forced POSIX)."""
    if platform.startswith("win"):
        return Path(env.get("APPDATA") or Path.home() / "AppData" / "Roaming") / APP
    if platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP
    return Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config") / APP


def install_hint() -> str:
    """How to add the local stack's extra to this installation: pipx keeps each app in a venv of its own,
    where `pip install` from the user's shell does not reach."""
    if (Path(sys.prefix) / "pipx_metadata.json").exists():
        return "Add the local extra to the pipx venv: pipx inject xrayctl 'xrayctl[local]'."
    return "Install the local extra: pip install 'xrayctl[local]'."
