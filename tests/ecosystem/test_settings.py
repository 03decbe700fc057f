"""Configuration layering: defaults < file < environment < flags, and one-line errors."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from snapconform.config import Credentials, RunConfig
from snapconform.config_cli import add_settings_arguments
from snapconform.settings import (
    MASK,
    SettingsError,
    resolve_run_config,
    resolve_settings,
)

ENV = {"SNAPCONFORM_PASSWORD": "env-secret"}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_nothing_configured_gives_the_runconfig_defaults(tmp_path: Path) -> None:
    # the default report directory, made absolute against the working directory
    assert resolve_run_config({}, {}, tmp_path) == RunConfig(report_dir=tmp_path / "reports")


def test_each_layer_overrides_the_one_below(tmp_path: Path) -> None:
    write(
        tmp_path / "snapconform.toml",
        'base_url = "https://file.example"\nmax_examples = 7\ntimeout = 5\nseed = 1\n',
    )
    env = {"SNAPCONFORM_MAX_EXAMPLES": "8", "SNAPCONFORM_TIMEOUT": "6"}
    flags = {"timeout": 9.0, "max_requests": None}
    resolved = resolve_settings(flags, env, tmp_path)
    sources = {key: value.source for key, value in resolved.values.items()}
    config = resolved.run_config()
    assert config.base_url == "https://file.example"
    assert sources["base_url"] == "snapconform.toml"
    assert config.max_examples == 8 and sources["max_examples"] == "env SNAPCONFORM_MAX_EXAMPLES"
    assert config.timeout == 9.0 and sources["timeout"] == "--timeout"
    assert config.seed == 1
    assert config.max_requests == RunConfig().max_requests and sources["max_requests"] == "default"


def test_pyproject_tool_table_is_read_and_snapconform_toml_wins(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.snapconform]\nbase_url = "https://py.example"\n')
    assert resolve_run_config({}, {}, tmp_path).base_url == "https://py.example"
    write(tmp_path / "snapconform.toml", 'base_url = "https://toml.example"\n')
    assert resolve_run_config({}, {}, tmp_path).base_url == "https://toml.example"


def test_pyproject_without_the_table_is_ignored(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n[tool.ruff]\nline-length = 1\n')
    assert resolve_settings({}, {}, tmp_path).config_file is None


def test_explicit_config_file_from_flag_or_env(tmp_path: Path) -> None:
    write(tmp_path / "ci.toml", "max_examples = 3\n")
    assert resolve_run_config({"config": "ci.toml"}, {}, tmp_path).max_examples == 3
    env = {"SNAPCONFORM_CONFIG": str(tmp_path / "ci.toml")}
    assert resolve_run_config({}, env, tmp_path).max_examples == 3
    with pytest.raises(SettingsError, match=r"^--config: no such file: nope.toml$"):
        resolve_run_config({"config": "nope.toml"}, {}, tmp_path)


def test_unknown_file_key_is_named_with_a_suggestion(tmp_path: Path) -> None:
    write(tmp_path / "snapconform.toml", 'base_ur = "https://x.example"\n')
    with pytest.raises(SettingsError) as caught:
        resolve_run_config({}, {}, tmp_path)
    assert str(caught.value) == (
        "snapconform.toml: unknown key 'base_ur' (did you mean 'base_url'?)"
    )


def test_unknown_key_in_pyproject_names_the_table(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.snapconform]\nmax_example = 3\n")
    with pytest.raises(SettingsError) as caught:
        resolve_run_config({}, {}, tmp_path)
    assert str(caught.value) == (
        "pyproject.toml [tool.snapconform]: unknown key 'max_example' "
        "(did you mean 'max_examples'?)"
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('base_url = "vcenter.example"', "snapconform.toml: base_url: expected an http(s) URL"),
        (
            'max_examples = "many"',
            "snapconform.toml: max_examples: expected an integer, got 'many'",
        ),
        ("max_examples = 0", "snapconform.toml: max_examples: must be at least 1, got 0"),
        ("max_requests = true", "snapconform.toml: max_requests: expected an integer, got boolean"),
        ('auth = "kerberos"', "snapconform.toml: auth: expected one of session, basic"),
        ('api_version = "7.0"', "snapconform.toml: api_version: expected one of 8.0.3, 9.0, 9.1"),
        ("rate_limit = -1", "snapconform.toml: rate_limit: must be a positive number"),
        ('insecure = "maybe"', "snapconform.toml: insecure: expected true or false"),
        ("base_url = [", "snapconform.toml: not valid TOML"),
    ],
)
def test_a_wrong_file_value_is_one_line_naming_file_and_key(
    tmp_path: Path, line: str, message: str
) -> None:
    write(tmp_path / "snapconform.toml", line + "\n")
    with pytest.raises(SettingsError) as caught:
        resolve_run_config({}, {}, tmp_path)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_a_wrong_env_or_flag_value_names_its_origin(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^environment variable SNAPCONFORM_SEED: seed: "):
        resolve_run_config({}, {"SNAPCONFORM_SEED": "abc"}, tmp_path)
    with pytest.raises(SettingsError, match=r"^--timeout: must be a positive number"):
        resolve_run_config({"timeout": "0"}, {}, tmp_path)


def test_a_wrong_secret_is_reported_without_its_value(tmp_path: Path) -> None:
    write(tmp_path / "snapconform.toml", 'username = "u"\npassword = 12345678\n')
    with pytest.raises(SettingsError) as caught:
        resolve_run_config({}, {}, tmp_path)
    assert "password" in str(caught.value)
    assert "12345678" not in str(caught.value)


def test_secret_in_a_file_is_allowed_with_a_warning_recommending_env(tmp_path: Path) -> None:
    write(tmp_path / "snapconform.toml", 'username = "admin"\npassword = "hunter2"\n')
    warnings: list[str] = []
    config = resolve_run_config({}, {}, tmp_path, warn=warnings.append)
    assert config.credentials == Credentials("admin", "hunter2")
    assert len(warnings) == 1
    assert "'password'" in warnings[0] and "SNAPCONFORM_PASSWORD" in warnings[0]
    assert "hunter2" not in warnings[0]


def test_secret_from_env_gives_no_warning(tmp_path: Path) -> None:
    warnings: list[str] = []
    config = resolve_run_config(
        {"username": "admin"},
        {
            **ENV,
            "SNAPCONFORM_UNPRIVILEGED_USERNAME": "ro",
            "SNAPCONFORM_UNPRIVILEGED_PASSWORD": "p",
        },
        tmp_path,
        warn=warnings.append,
    )
    assert warnings == []
    assert config.credentials == Credentials("admin", "env-secret")
    assert config.unprivileged == Credentials("ro", "p")


SERVER = {"base_url": "https://vc.example"}
BOTH_PASSWORDS = {"SNAPCONFORM_PASSWORD": "p1", "SNAPCONFORM_UNPRIVILEGED_PASSWORD": "p2"}


def test_a_half_credential_is_an_error_where_it_is_used(tmp_path: Path) -> None:
    """Observed and declared runs log in with the configured principals: a user name without
    its password, or the password without a user name, is one line naming the fix."""
    with pytest.raises(SettingsError, match=r"username is set but password is not.*PASSWORD"):
        resolve_run_config({**SERVER, "username": "admin"}, {}, tmp_path)
    with pytest.raises(SettingsError, match="password is set but username is not; give --user"):
        resolve_run_config(SERVER, ENV, tmp_path)
    with pytest.raises(SettingsError, match="unprivileged_username is set but unprivileged_pass"):
        resolve_run_config(
            {**SERVER, "username": "a", "unprivileged_username": "ro"}, ENV, tmp_path
        )
    with pytest.raises(SettingsError) as caught:
        resolve_settings({"username": "admin"}, {}, tmp_path).run_config(logs_in=True)
    assert "\n" not in str(caught.value)


def test_a_ci_job_exporting_both_passwords_runs_every_command(tmp_path: Path) -> None:
    """The secrets of a CI job are exported for every step: the embedded server and
    controlled mode (principals of their own) ignore them; a capture or an observed run with
    --username uses the privileged one; the unprivileged one without a user name is unused
    (a warning), never an error."""
    embedded = resolve_run_config({}, BOTH_PASSWORDS, tmp_path)
    assert embedded.mode == "controlled" and embedded.credentials is None
    controlled = {**SERVER, "control_url": "http://127.0.0.1:1/control"}
    assert resolve_run_config(controlled, BOTH_PASSWORDS, tmp_path).mode == "controlled"
    warnings: list[str] = []
    observed = resolve_run_config(
        {**SERVER, "username": "admin"}, BOTH_PASSWORDS, tmp_path, warn=warnings.append
    )
    assert observed.credentials == Credentials("admin", "p1") and observed.unprivileged is None
    assert len(warnings) == 1 and "unprivileged_password is set but" in warnings[0]
    assert "p2" not in warnings[0]
    capture = resolve_settings({**SERVER, "username": "admin"}, BOTH_PASSWORDS, tmp_path)
    assert capture.run_config(logs_in=True).credentials == Credentials("admin", "p1")


def test_config_shows_every_setting_whatever_is_exported(tmp_path: Path) -> None:
    resolved = resolve_settings({}, BOTH_PASSWORDS, tmp_path)
    rows = {key: (shown, source) for key, shown, source in resolved.describe()}
    assert rows["password"] == (MASK, "env SNAPCONFORM_PASSWORD")
    assert rows["unprivileged_password"] == (MASK, "env SNAPCONFORM_UNPRIVILEGED_PASSWORD")
    assert rows["mode"] == ("controlled", "derived")
    problem = resolved.credential_problem()
    assert problem is not None and "give --username" in problem
    observed = resolve_settings(SERVER, ENV, tmp_path)
    assert ("mode", "observed", "derived") in observed.describe()


def test_contradictions_are_reported(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"control_url .* and state_file .* are exclusive"):
        resolve_run_config(
            {"control_url": "http://127.0.0.1:1", "state_file": "s.json"}, {}, tmp_path
        )
    with pytest.raises(SettingsError, match=r"insecure .* and ca_bundle .* contradict"):
        resolve_run_config({"insecure": True, "ca_bundle": "ca.pem"}, {}, tmp_path)


def test_unknown_snapconform_env_var_warns_with_suggestion(tmp_path: Path) -> None:
    warnings: list[str] = []
    resolve_run_config(
        {}, {"SNAPCONFORM_BASEURL": "x", "OTHER": "y"}, tmp_path, warn=warnings.append
    )
    assert warnings == [
        "ignoring unknown environment variable SNAPCONFORM_BASEURL "
        "(did you mean 'SNAPCONFORM_BASE_URL'?)"
    ]


def test_empty_env_var_counts_as_unset(tmp_path: Path) -> None:
    assert resolve_run_config({}, {"SNAPCONFORM_BASE_URL": ""}, tmp_path).base_url is None


def _flags(*argv: str) -> dict[str, object]:
    """The flags a command line gives, parsed as the commands parse them."""
    parser = argparse.ArgumentParser()
    add_settings_arguments(parser)
    return vars(parser.parse_args(list(argv)))


def test_a_boolean_flag_overrides_the_file_and_the_environment(tmp_path: Path) -> None:
    write(tmp_path / "snapconform.toml", "insecure = true\n")
    assert resolve_run_config(_flags(), {}, tmp_path).insecure is True  # flag not given
    assert resolve_run_config(_flags("--no-insecure"), {}, tmp_path).insecure is False
    env = {"SNAPCONFORM_INSECURE": "true"}
    resolved = resolve_settings(_flags("--no-insecure"), env, tmp_path)
    assert resolved.values["insecure"].value is False
    assert resolved.values["insecure"].source == "--insecure"
    (tmp_path / "snapconform.toml").unlink()
    env = {"SNAPCONFORM_INSECURE": "0"}
    assert resolve_run_config(_flags("--insecure"), env, tmp_path).insecure is True
    assert resolve_run_config({}, {"SNAPCONFORM_INSECURE": "false"}, tmp_path).insecure is False


def test_file_paths_are_relative_to_the_file_and_env_paths_to_cwd(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    write(conf / "ci.toml", 'state_file = "state.json"\n')
    config = resolve_run_config({"config": "conf/ci.toml"}, {}, tmp_path)
    assert config.state_file == conf / "state.json"
    config = resolve_run_config({}, {"SNAPCONFORM_REPORT_DIR": "out"}, tmp_path)
    assert config.report_dir == tmp_path / "out"
    # the default too: `summary:` is printed as an absolute path whatever set the directory
    assert resolve_run_config({}, {}, tmp_path).report_dir == tmp_path / "reports"
    assert resolve_run_config({"report_dir": "x"}, {}, tmp_path).report_dir == tmp_path / "x"


def test_base_url_trailing_slash_is_dropped_and_mode_derived(tmp_path: Path) -> None:
    resolved = resolve_settings({"base_url": "https://vc.example/"}, {}, tmp_path)
    assert resolved.run_config().base_url == "https://vc.example"
    assert ("mode", "observed", "derived") in resolved.describe()


def test_describe_masks_secrets_and_names_sources(tmp_path: Path) -> None:
    resolved = resolve_settings({"username": "admin"}, ENV, tmp_path)
    rows = {key: (shown, source) for key, shown, source in resolved.describe()}
    assert rows["password"] == (MASK, "env SNAPCONFORM_PASSWORD")
    assert rows["username"] == ("admin", "--username")
    assert "env-secret" not in repr(resolved.describe())
