"""Where the local stack keeps its data (xrayctl/local/home.py), and the install hint for its extra."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from xrayctl.local.home import STORE_FILE, default_home, install_hint


@pytest.fixture
def user_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))  # Path.home() on POSIX
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize(
    ("platform", "env", "expected"),
    [
        ("linux", {}, ".local/share/xrayctl"),
        ("linux", {"XDG_DATA_HOME": "{home}/data"}, "data/xrayctl"),
        ("darwin", {}, "Library/Application Support/xrayctl"),
        ("win32", {"LOCALAPPDATA": "{home}/AppData/Local"}, "AppData/Local/xrayctl"),
    ],
)
def test_the_store_lives_in_the_platforms_data_folder(
    user_home: Path, platform: str, env: dict[str, str], expected: str
) -> None:
    env = {name: value.format(home=user_home) for name, value in env.items()}
    assert default_home(env, platform) == user_home / expected


def test_xrayctl_home_wins(user_home: Path) -> None:
    assert default_home({"XRAYCTL_HOME": str(user_home / "mine")}, "linux") == user_home / "mine"


@pytest.mark.parametrize(
    ("platform", "env", "old"),
    [
        ("linux", {}, ".config/xrayctl"),
        ("linux", {"XDG_CONFIG_HOME": "{home}/cfg"}, "cfg/xrayctl"),
        (
            "win32",
            {"APPDATA": "{home}/AppData/Roaming", "LOCALAPPDATA": "{home}/AppData/Local"},
            "AppData/Roaming/xrayctl",
        ),
    ],
)
def test_a_store_left_in_the_old_config_folder_is_still_found_there(
    user_home: Path, platform: str, env: dict[str, str], old: str
) -> None:
    env = {name: value.format(home=user_home) for name, value in env.items()}
    (user_home / old).mkdir(parents=True)
    (user_home / old / STORE_FILE).write_bytes(b"")
    assert default_home(env, platform) == user_home / old


def test_once_the_data_folder_exists_it_is_the_home(user_home: Path) -> None:
    (user_home / ".config/xrayctl").mkdir(parents=True)
    (user_home / ".config/xrayctl" / STORE_FILE).write_bytes(b"")
    (user_home / ".local/share/xrayctl").mkdir(parents=True)
    assert default_home({}, "linux") == user_home / ".local/share/xrayctl"


def test_the_install_hint_names_pipx_inject_inside_a_pipx_venv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    assert "pip install 'xrayctl[local]'" in install_hint()
    (tmp_path / "pipx_metadata.json").write_text("{}")
    assert "pipx inject xrayctl 'xrayctl[local]'" in install_hint()
