"""The program configuration file: loaded, validated, and reloaded when it changes."""
from __future__ import annotations

import logging
import threading
import time
import tomllib
from pathlib import Path

from processors.config import ConfigError, ProgramConfig

log = logging.getLogger(__name__)


def load_config(path: str | Path) -> ProgramConfig:
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(str(path), "-", "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "-", f"not valid TOML: {exc}") from None
    return ProgramConfig.from_mapping(data, str(path))


class ConfigFile:
    """Callable giving the config in force; re-reads the file when its mtime changes (checked at
    most every ``check_every`` seconds). A broken edit is logged and the previous config stays."""

    def __init__(self, path: str | Path, check_every: float = 2.0):
        self.path = Path(path)
        self.check_every = check_every
        self._config = load_config(self.path)
        self._mtime = self.path.stat().st_mtime
        self._checked = time.monotonic()
        self._lock = threading.Lock()
        self.last_error: str | None = None

    def __call__(self) -> ProgramConfig:
        now = time.monotonic()
        if now - self._checked >= self.check_every:
            with self._lock:
                self._checked = now
                self._maybe_reload()
        return self._config

    def _maybe_reload(self) -> None:
        try:
            mtime = self.path.stat().st_mtime
        except OSError as exc:
            self.last_error = str(exc)
            return
        if mtime == self._mtime:
            return
        self._mtime = mtime
        try:
            new = load_config(self.path)
        except ConfigError as exc:
            self.last_error = str(exc)
            log.error("config reload failed, keeping version %s: %s", self._config.version, exc)
            return
        log.info("program configuration reloaded: %s -> %s", self._config.version, new.version)
        self._config, self.last_error = new, None
