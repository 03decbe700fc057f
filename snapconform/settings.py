"""Configuration layering for ``snapconform run``: defaults < file < environment < flags.

The file is ``snapconform.toml`` in the working directory (top-level keys), or the
``[tool.snapconform]`` table of ``pyproject.toml`` there, or the file named by ``--config`` /
``SNAPCONFORM_CONFIG``. Environment variables are ``SNAPCONFORM_<KEY>`` (``SNAPCONFORM_BASE_URL``,
``SNAPCONFORM_PASSWORD``, ...). Flags are the ``run`` options, given here as a mapping of key to
value in which ``None`` means "not given".

Every value is parsed and checked here, so a wrong key or value is reported as one line naming
where it came from (``snapconform.toml: unknown key 'base_ur' (did you mean 'base_url'?)``) and
never reaches the engine. Each resolved value remembers its source, which ``snapconform config``
prints.
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from snapconform.config import Credentials, RunConfig
from snapconform.errors import SettingsError, did_you_mean
from snapconform.redaction import MASK
from snapconform.settings_catalogue import ENV_PREFIX, SETTINGS, SETTINGS_BY_KEY, Setting

CONFIG_FILE_NAME = "snapconform.toml"
PYPROJECT_NAME = "pyproject.toml"
#: environment variable / flag key naming an explicit configuration file
CONFIG_PATH_ENV = "SNAPCONFORM_CONFIG"
CONFIG_PATH_FLAG = "config"
#: ``SNAPCONFORM_*`` variables that are not settings but are used by the harness itself; never
#: reported as unknown
RESERVED_ENV = frozenset(
    {
        CONFIG_PATH_ENV,
        "SNAPCONFORM_DEBUG",  # tracebacks instead of one-line errors (snapconform.cli)
        "SNAPCONFORM_PROGRESS",
        "SNAPCONFORM_PROGRESS_FILE",
        "SNAPCONFORM_ALLURE",  # the Allure 3 executable (snapconform report)
        "SNAPCONFORM_SESSION_ID",  # used by the curl lines that reproduce a failure
    }
)
_CREDENTIAL_PAIRS = (
    ("username", "password", "credentials"),
    ("unprivileged_username", "unprivileged_password", "unprivileged"),
)


@dataclass(frozen=True)
class Value:
    """A resolved value and where it came from (``default``, a file name, ``env X``, ``--flag``)."""

    value: Any
    source: str


@dataclass(frozen=True)
class ResolvedSettings:
    """The effective configuration: every key's value and source, plus the warnings seen."""

    values: Mapping[str, Value]
    config_file: Path | None
    warnings: tuple[str, ...] = field(default=())

    def run_config(self, *, logs_in: bool | None = None) -> RunConfig:
        """The RunConfig of these settings.

        ``logs_in``: whether the command logs in to the target with the configured principals
        (``capture``, ``diff``: True); None: as ``run`` does, only in observed and declared mode
        (the embedded server and controlled mode use principals of their own). Only then is a
        credential without its other half an error (one line): a CI job that exports both
        passwords for every step must still be able to serve, capture and run the embedded
        server.
        """
        kwargs: dict[str, Any] = {
            key: entry.value
            for key, entry in self.values.items()
            if key not in {"username", "password", "unprivileged_username", "unprivileged_password"}
            and (entry.source != "default" or SETTINGS_BY_KEY[key].is_path)
        }
        if logs_in is None:
            logs_in = RunConfig(**kwargs).mode in ("observed", "declared")
        if logs_in:
            problem = self.credential_problem()
            if problem is not None:
                raise SettingsError(problem)
        for user_key, password_key, field_name in _CREDENTIAL_PAIRS:
            username = self.values[user_key].value
            password = self.values[password_key].value
            if username is not None and password is not None:
                kwargs[field_name] = Credentials(username=username, password=password)
        return RunConfig(**kwargs)

    def credential_problem(self) -> str | None:
        """A principal that cannot log in, in one line (None: none). A user name without its
        password, or the privileged password without a user name. The unprivileged password
        alone is no problem: without a user name there is no unprivileged principal, and the
        checks that need one say so (not checked, configuration)."""
        for user_key, password_key, field_name in _CREDENTIAL_PAIRS:
            user, password = self.values[user_key], self.values[password_key]
            if user.value is not None and password.value is None:
                return (
                    f"{user.source}: {user_key} is set but {password_key} is not; "
                    f"set {SETTINGS_BY_KEY[password_key].env_var}"
                )
            if password.value is not None and user.value is None and field_name == "credentials":
                user_setting = SETTINGS_BY_KEY[user_key]
                return (
                    f"{password.source}: {password_key} is set but {user_key} is not; "
                    f"give {user_setting.flag} (or set {user_setting.env_var})"
                )
        return None

    def unused_secrets(self) -> list[str]:
        """The unprivileged password given without its user name (for a warning: the
        privileged one alone is a ``credential_problem`` where it would be used)."""
        return [
            f"{self.values[password_key].source}: {password_key} is set but {user_key} is"
            f" not: not used (give {SETTINGS_BY_KEY[user_key].flag} to use it)"
            for user_key, password_key, field_name in _CREDENTIAL_PAIRS
            if field_name != "credentials"
            and self.values[password_key].value is not None
            and self.values[user_key].value is None
        ]

    def describe(self) -> list[tuple[str, str, str]]:
        """``(key, shown value, source)`` rows with secrets masked, for ``snapconform config``."""
        rows = []
        for setting in SETTINGS:
            entry = self.values[setting.key]
            if entry.value is None:
                shown = "-"
            elif setting.secret:
                shown = MASK
            else:
                shown = str(entry.value)
            rows.append((setting.key, shown, entry.source))
        rows.append(("mode", self.run_config(logs_in=False).mode, "derived"))
        return rows


def _defaults() -> dict[str, Any]:
    default = RunConfig()
    values: dict[str, Any] = {
        key: getattr(default, key) for key in SETTINGS_BY_KEY if hasattr(default, key)
    }
    for user_key, password_key, field_name in _CREDENTIAL_PAIRS:
        credentials: Credentials | None = getattr(default, field_name)
        values[user_key] = credentials.username if credentials else None
        values[password_key] = credentials.password if credentials else None
    return values


# ---------------------------------------------------------------------------------------------
# the file layer


def find_config_file(
    flags: Mapping[str, Any], environ: Mapping[str, str], cwd: Path
) -> tuple[Path, Mapping[str, Any]] | None:
    """The configuration file in force and its snapconform table, or None.

    An explicit file (``--config`` or ``SNAPCONFORM_CONFIG``) must exist; otherwise
    ``snapconform.toml`` in *cwd* wins over ``[tool.snapconform]`` in ``pyproject.toml``.
    """
    explicit = flags.get(CONFIG_PATH_FLAG) or environ.get(CONFIG_PATH_ENV) or None
    if explicit:
        path = Path(explicit)
        path = path if path.is_absolute() else cwd / path
        if not path.is_file():
            origin = "--config" if flags.get(CONFIG_PATH_FLAG) else CONFIG_PATH_ENV
            raise SettingsError(f"{origin}: no such file: {explicit}")
        document = _load_toml(path, cwd)
        if path.name == PYPROJECT_NAME:
            return path, _tool_table(path, document, cwd)
        return path, document
    candidate = cwd / CONFIG_FILE_NAME
    if candidate.is_file():
        return candidate, _load_toml(candidate, cwd)
    pyproject = cwd / PYPROJECT_NAME
    if pyproject.is_file():
        document = _load_toml(pyproject, cwd)
        if "snapconform" in document.get("tool", {}):
            return pyproject, _tool_table(pyproject, document, cwd)
    return None


def _display(path: Path, cwd: Path) -> str:
    try:
        return str(path.relative_to(cwd))
    except ValueError:
        return str(path)


def _load_toml(path: Path, cwd: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{_display(path, cwd)}: not valid TOML: {error}") from None
    except OSError as error:
        raise SettingsError(f"{_display(path, cwd)}: cannot read: {error.strerror}") from None


def _tool_table(path: Path, document: Mapping[str, Any], cwd: Path) -> Mapping[str, Any]:
    table = document.get("tool", {}).get("snapconform", {})
    if not isinstance(table, Mapping):
        raise SettingsError(f"{_display(path, cwd)}: [tool.snapconform] must be a table")
    return table


# ---------------------------------------------------------------------------------------------
# resolution


def resolve_settings(
    flags: Mapping[str, Any], environ: Mapping[str, str], cwd: Path
) -> ResolvedSettings:
    """Layer defaults < file < environment < flags; raise SettingsError on a wrong key or value."""
    values = {key: Value(value, "default") for key, value in _defaults().items()}
    for key, value in values.items():
        # a relative default (report_dir) means the working directory, like a relative flag
        path = value.value
        if SETTINGS_BY_KEY[key].is_path and isinstance(path, Path) and not path.is_absolute():
            values[key] = Value(cwd / path, value.source)
    warnings: list[str] = []

    found = find_config_file(flags, environ, cwd)
    config_file = None
    if found is not None:
        config_file, table = found
        name = _display(config_file, cwd)
        where = f"{name} [tool.snapconform]" if config_file.name == PYPROJECT_NAME else name
        for key, raw in table.items():
            setting = SETTINGS_BY_KEY.get(key)
            if setting is None:
                raise SettingsError(
                    f"{where}: unknown key {key!r}{did_you_mean(key, SETTINGS_BY_KEY)}"
                )
            value = _parse(setting, raw, where)
            if setting.is_path and not value.is_absolute():
                value = config_file.parent / value
            values[key] = Value(value, name)
            if setting.secret:
                warnings.append(
                    f"{where}: {key!r} is stored in a configuration file; prefer the "
                    f"environment variable {setting.env_var} (from your CI's secret store)"
                )

    known_env = {setting.env_var for setting in SETTINGS}
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name in RESERVED_ENV:
            continue
        if name not in known_env:
            hint = did_you_mean(name, known_env)
            warnings.append(f"ignoring unknown environment variable {name}{hint}")
    for setting in SETTINGS:
        raw = environ.get(setting.env_var)
        if raw is None or (raw == "" and not setting.secret):
            continue  # an empty variable counts as unset, the usual shell convention
        where = f"environment variable {setting.env_var}"
        value = _parse(setting, raw, where)
        if setting.is_path and not value.is_absolute():
            value = cwd / value
        values[setting.key] = Value(value, f"env {setting.env_var}")

    for key, raw in flags.items():
        setting = SETTINGS_BY_KEY.get(key)
        if setting is None or raw is None:
            continue  # the run command has options that are not settings (e.g. --config)
        # a boolean flag is --FLAG / --no-FLAG (default None: not given), so False is
        # --no-FLAG: it overrides the file and the environment like any other flag
        value = _parse(setting, raw, setting.flag)
        if setting.is_path and not value.is_absolute():
            value = cwd / value
        values[key] = Value(value, setting.flag)

    _check_consistency(values)
    return ResolvedSettings(values=values, config_file=config_file, warnings=tuple(warnings))


def _parse(setting: Setting, raw: object, where: str) -> Any:
    try:
        return setting.parse(raw)
    except ValueError as error:
        # a secret's value must not leak into the message, even when it is wrong
        reason = "expected a non-empty string" if setting.secret else str(error)
        # a flag names its key itself; a file or variable needs the key spelled out
        subject = where if where == setting.flag else f"{where}: {setting.key}"
        raise SettingsError(f"{subject}: {reason}") from None


def _check_consistency(values: Mapping[str, Value]) -> None:
    """Settings that contradict each other whatever the command. (A credential without its
    other half is checked where it is used: ``ResolvedSettings.run_config``.)"""
    control, state = values["control_url"], values["state_file"]
    if control.value is not None and state.value is not None:
        raise SettingsError(
            f"control_url ({control.source}) and state_file ({state.source}) are exclusive: "
            "controlled mode drives the mock, declared mode only reads its declared state"
        )
    insecure, bundle = values["insecure"], values["ca_bundle"]
    if insecure.value and bundle.value is not None:
        raise SettingsError(
            f"insecure ({insecure.source}) and ca_bundle ({bundle.source}) contradict each other: "
            "choose one"
        )


#: Hypothesis' storage (its example database, its caches of constants and Unicode data) goes
#: there, below the report directory: never ``.hypothesis/`` in the user's working directory.
HYPOTHESIS_STORAGE_ENV = "HYPOTHESIS_STORAGE_DIRECTORY"


def hypothesis_storage(report_dir: Path, environ: Mapping[str, str]) -> Path:
    """Where Hypothesis may write for a command whose reports go to ``report_dir``:
    ``HYPOTHESIS_STORAGE_DIRECTORY`` when the user set it, else ``report_dir/.hypothesis``."""
    chosen = environ.get(HYPOTHESIS_STORAGE_ENV)
    return Path(chosen) if chosen else report_dir / ".hypothesis"


def use_hypothesis_storage(report_dir: Path, environ: Mapping[str, str]) -> None:
    """Point this process' Hypothesis at ``hypothesis_storage`` (commands that generate
    in-process: ``diff``, ``selftest``)."""
    from hypothesis.configuration import set_hypothesis_home_dir

    set_hypothesis_home_dir(hypothesis_storage(report_dir, environ))
    seed_unicode_table()


#: Hypothesis' table of Unicode categories per Unicode version, as Hypothesis writes it.
UNICODE_TABLES = Path(__file__).parent / "unicode_data"


def seed_unicode_table() -> None:
    """Put the shipped table of Unicode categories where this process' Hypothesis looks for it.

    Hypothesis computes the table from all 1.1 million code points (~0.13 CPU-s) the first time
    a strategy draws text, unless its storage holds it, and a run's storage is new whenever its
    report directory is. The shipped file is what Hypothesis itself wrote for this Unicode
    version (tests/engine/test_unicode_table.py compares them). A table already there, a
    version with no shipped table, or a Hypothesis that keeps it elsewhere: nothing is copied,
    and Hypothesis computes the table as it would have.
    """
    import shutil
    import unicodedata

    shipped = UNICODE_TABLES / f"charmap-{unicodedata.unidata_version}.json.gz"
    try:
        from hypothesis.internal.charmap import charmap_file

        target = charmap_file()
        if shipped.is_file() and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shipped, target)
    except (ImportError, OSError):
        return


def _print_warning(message: str) -> None:
    print(f"snapconform: warning: {message}", file=sys.stderr)


def resolve_run_config(
    flags: Mapping[str, Any],
    environ: Mapping[str, str],
    cwd: Path,
    *,
    warn: Callable[[str], None] = _print_warning,
) -> RunConfig:
    """The RunConfig of ``snapconform run``: defaults < file < environment < flags.

    Raises SettingsError (one line) on a wrong key or value; calls *warn* once per warning (a
    secret stored in a file, an unknown ``SNAPCONFORM_*`` variable).
    """
    resolved = resolve_settings(flags, environ, cwd)
    config = resolved.run_config()
    for message in resolved.warnings:
        warn(message)
    if config.mode in ("observed", "declared"):
        for message in resolved.unused_secrets():
            warn(message)
    return config
