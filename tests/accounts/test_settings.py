"""The product's own settings module (not tests/settings.py), loaded in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# Variables the settings module reads; none leaks in from the environment running the tests.
_READ_BY_SETTINGS = {
    "SECRET_KEY",
    "SECRET_KEY_FILE",
    "DEBUG",
    "DATABASE_URL",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "EMAIL_URL",
    "EMAIL_URL_FILE",
    "TIME_ZONE",
    "SESSION_IDLE_MINUTES",
    "LOGIN_FAILURE_LIMIT",
    "LOGIN_LOCKOUT_MINUTES",
    "STATIC_ROOT",
    "MESOCLINIC_VAR_DIR",
    "PASSWORD_RESET_TIMEOUT_HOURS",
    "SECURE_COOKIES",
    "PATIENTS_PER_PAGE",
    "TRUSTED_PROXY_COUNT",
}
GOOD_KEY = "k" * 50

PRINT_SETTINGS = """
import json
from django.conf import settings
db = settings.DATABASES["default"]
print(json.dumps({
    "hasher": settings.PASSWORD_HASHERS[0],
    "debug": settings.DEBUG,
    "cookie_age": settings.SESSION_COOKIE_AGE,
    "save_every_request": settings.SESSION_SAVE_EVERY_REQUEST,
    "engine": db["ENGINE"],
    "db_name": str(db["NAME"]),
    "secret_key": settings.SECRET_KEY,
    "email_backend": settings.EMAIL_BACKEND,
    "time_zone": settings.TIME_ZONE,
    "axes_limit": settings.AXES_FAILURE_LIMIT,
}))
"""


def run_settings(
    tmp_path: Path, code: str = PRINT_SETTINGS, **env: str
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in _READ_BY_SETTINGS}
    environ |= {
        "DJANGO_SETTINGS_MODULE": "mesoclinic.settings",
        "MESOCLINIC_VAR_DIR": str(tmp_path / "var"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    environ |= env
    return subprocess.run(
        [sys.executable, "-c", code],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def loaded(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_product_settings_hash_passwords_with_argon2(tmp_path):
    values = loaded(run_settings(tmp_path, SECRET_KEY=GOOD_KEY))
    assert values["hasher"] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_product_settings_default_to_sqlite_under_the_var_dir_with_wal(tmp_path):
    code = (
        "from django.db import connection\n"
        "with connection.cursor() as c:\n"
        "    c.execute('PRAGMA journal_mode')\n"
        "    print(c.fetchone()[0])\n"
        "print(connection.settings_dict['NAME'])\n"
    )
    result = run_settings(tmp_path, code, SECRET_KEY=GOOD_KEY)
    assert result.returncode == 0, result.stderr
    mode, name = result.stdout.strip().splitlines()[-2:]
    assert mode == "wal"
    assert Path(name) == (tmp_path / "var" / "mesoclinic.sqlite3").resolve()


def test_product_settings_log_out_after_the_configured_idle_minutes(tmp_path):
    values = loaded(run_settings(tmp_path, SECRET_KEY=GOOD_KEY, SESSION_IDLE_MINUTES="45"))
    assert values["cookie_age"] == 45 * 60
    assert values["save_every_request"] is True


def test_product_settings_default_idle_logout_is_thirty_minutes(tmp_path):
    values = loaded(run_settings(tmp_path, SECRET_KEY=GOOD_KEY))
    assert values["cookie_age"] == 30 * 60
    assert values["debug"] is False
    assert values["time_zone"] == "UTC"
    assert values["axes_limit"] == 5


def test_product_settings_read_the_secret_key_from_a_file(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("f" * 40 + "\n", encoding="utf-8")
    values = loaded(run_settings(tmp_path, SECRET_KEY_FILE=str(key_file)))
    assert values["secret_key"] == "f" * 40


def test_product_settings_read_email_url(tmp_path):
    values = loaded(run_settings(tmp_path, SECRET_KEY=GOOD_KEY, EMAIL_URL="memory://"))
    assert values["email_backend"] == "django.core.mail.backends.locmem.EmailBackend"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SECRET_KEY": GOOD_KEY, "DEBUG": "maybe"}, "DEBUG"),
        ({"SECRET_KEY": GOOD_KEY, "SESSION_IDLE_MINUTES": "abc"}, "SESSION_IDLE_MINUTES"),
        ({"SECRET_KEY": GOOD_KEY, "SESSION_IDLE_MINUTES": "0"}, "SESSION_IDLE_MINUTES"),
        ({"SECRET_KEY": GOOD_KEY, "TIME_ZONE": "Mars/Olympus"}, "TIME_ZONE"),
        ({"SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": "a,,b"}, "ALLOWED_HOSTS"),
        ({"SECRET_KEY": GOOD_KEY, "EMAIL_URL": "pigeon://coop"}, "EMAIL_URL"),
        ({"SECRET_KEY": GOOD_KEY, "DATABASE_URL": "mysql://root@localhost/x"}, "DATABASE_URL"),
        ({"SECRET_KEY": GOOD_KEY, "LOGIN_FAILURE_LIMIT": "many"}, "LOGIN_FAILURE_LIMIT"),
        ({"SECRET_KEY": "too-short"}, "SECRET_KEY"),
    ],
)
def test_product_settings_fail_loudly_on_a_bad_value(tmp_path, env, named):
    result = run_settings(tmp_path, **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr.strip().splitlines()[-1]


def test_product_settings_refuse_to_start_without_a_secret_key_outside_debug(tmp_path):
    result = run_settings(tmp_path, DEBUG="0")
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last_line
    assert "SECRET_KEY" in last_line


def test_product_settings_refuse_both_secret_key_and_its_file(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("f" * 40, encoding="utf-8")
    result = run_settings(tmp_path, SECRET_KEY=GOOD_KEY, SECRET_KEY_FILE=str(key_file))
    assert result.returncode != 0
    assert "SECRET_KEY_FILE" in result.stderr.strip().splitlines()[-1]


def test_debug_without_a_secret_key_keeps_one_private_generated_key(tmp_path):
    first = loaded(run_settings(tmp_path, DEBUG="1"))
    second = loaded(run_settings(tmp_path, DEBUG="1"))
    key_file = tmp_path / "var" / "secret_key"
    assert first["secret_key"] == second["secret_key"] == key_file.read_text().strip()
    assert len(str(first["secret_key"])) >= 50
    assert key_file.stat().st_mode & 0o077 == 0
