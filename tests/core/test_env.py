"""The typed environment readers: the default when unset, a loud error naming the variable."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from mesoclinic.core.env import (
    env_bool,
    env_int,
    env_list,
    env_secret,
    env_str,
    env_timezone,
    parse_database_url,
    parse_email_url,
)

# --- env_str ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "fallback"),
        ({"NAME": ""}, "fallback"),
        ({"NAME": "   "}, "fallback"),
        ({"NAME": " value "}, "value"),
    ],
)
def test_env_str_strips_and_falls_back_when_unset_or_blank(environ, expected):
    assert env_str("NAME", "fallback", environ=environ) == expected


# --- env_bool -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("TRUE", True),
        ("Yes", True),
        ("on", True),
        (" on ", True),
        ("0", False),
        ("false", False),
        ("False", False),
        ("no", False),
        ("OFF", False),
    ],
)
def test_env_bool_reads_the_usual_spellings(raw, expected):
    assert env_bool("DEBUG", not expected, environ={"DEBUG": raw}) is expected


@pytest.mark.parametrize("default", [True, False])
@pytest.mark.parametrize("environ", [{}, {"DEBUG": ""}])
def test_env_bool_unset_or_empty_gives_the_default(environ, default):
    assert env_bool("DEBUG", default, environ=environ) is default


@pytest.mark.parametrize("raw", ["maybe", "2", "y", "enabled", "tru"])
def test_env_bool_refuses_anything_else_naming_the_variable(raw):
    with pytest.raises(ImproperlyConfigured, match=r"^DEBUG=.*not a boolean"):
        env_bool("DEBUG", False, environ={"DEBUG": raw})


# --- env_int ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, 30),
        ({"IDLE": ""}, 30),
        ({"IDLE": "45"}, 45),
        ({"IDLE": " 7 "}, 7),
        ({"IDLE": "-3"}, -3),
    ],
)
def test_env_int_reads_whole_numbers(environ, expected):
    assert env_int("IDLE", 30, environ=environ) == expected


@pytest.mark.parametrize("raw", ["abc", "1.5", "30m", "1e3", "0x10"])
def test_env_int_refuses_what_is_not_a_whole_number(raw):
    with pytest.raises(ImproperlyConfigured, match=r"^IDLE=.*not a whole number"):
        env_int("IDLE", 30, environ={"IDLE": raw})


@pytest.mark.parametrize(
    ("raw", "message"),
    [("0", "below the minimum of 1"), ("1441", "above the maximum of 1440")],
)
def test_env_int_enforces_its_bounds(raw, message):
    with pytest.raises(ImproperlyConfigured, match=f"IDLE={raw} is {message}"):
        env_int("IDLE", 30, minimum=1, maximum=1440, environ={"IDLE": raw})


@pytest.mark.parametrize("raw", ["1", "1440"])
def test_env_int_accepts_its_bounds_inclusively(raw):
    assert env_int("IDLE", 30, minimum=1, maximum=1440, environ={"IDLE": raw}) == int(raw)


# --- env_list -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, ["localhost"]),
        ({"HOSTS": ""}, ["localhost"]),
        ({"HOSTS": "example.org"}, ["example.org"]),
        ({"HOSTS": "a.example, b.example ,c.example"}, ["a.example", "b.example", "c.example"]),
    ],
)
def test_env_list_splits_on_commas(environ, expected):
    assert env_list("HOSTS", ["localhost"], environ=environ) == expected


def test_env_list_default_is_a_copy():
    default = ["localhost"]
    result = env_list("HOSTS", default, environ={})
    result.append("evil.example")
    assert default == ["localhost"]


@pytest.mark.parametrize("raw", ["a.example,,b.example", "a.example,", ",a.example", "a, ,b"])
def test_env_list_refuses_an_empty_item(raw):
    with pytest.raises(ImproperlyConfigured, match=r"^HOSTS=.*empty item"):
        env_list("HOSTS", [], environ={"HOSTS": raw})


# --- env_timezone -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "UTC"),
        ({"TIME_ZONE": "Europe/London"}, "Europe/London"),
        ({"TIME_ZONE": "America/Argentina/Buenos_Aires"}, "America/Argentina/Buenos_Aires"),
    ],
)
def test_env_timezone_accepts_iana_names(environ, expected):
    assert env_timezone("TIME_ZONE", "UTC", environ=environ) == expected


@pytest.mark.parametrize("raw", ["Mars/Olympus", "GMT+1", "europe/london", "London"])
def test_env_timezone_refuses_unknown_names(raw):
    with pytest.raises(ImproperlyConfigured, match=r"^TIME_ZONE=.*not an IANA time zone"):
        env_timezone("TIME_ZONE", "UTC", environ={"TIME_ZONE": raw})


# --- env_secret ---------------------------------------------------------------------------------


def test_env_secret_reads_the_variable():
    assert env_secret("SECRET_KEY", environ={"SECRET_KEY": " s3cret "}) == "s3cret"


def test_env_secret_unset_is_none():
    assert env_secret("SECRET_KEY", environ={}) is None


def test_env_secret_reads_the_file_named_by_name_file(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text("from-a-file-secret\n", encoding="utf-8")
    assert env_secret("SECRET_KEY", environ={"SECRET_KEY_FILE": str(key_file)}) == (
        "from-a-file-secret"
    )


def test_env_secret_refuses_both_the_variable_and_the_file(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text("from-a-file-secret", encoding="utf-8")
    with pytest.raises(ImproperlyConfigured, match="Set SECRET_KEY or SECRET_KEY_FILE, not both"):
        env_secret("SECRET_KEY", environ={"SECRET_KEY": "direct", "SECRET_KEY_FILE": str(key_file)})


def test_env_secret_refuses_a_missing_file(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(ImproperlyConfigured, match=r"^SECRET_KEY_FILE=.*cannot be read"):
        env_secret("SECRET_KEY", environ={"SECRET_KEY_FILE": str(missing)})


def test_env_secret_refuses_a_directory_as_file(tmp_path):
    with pytest.raises(ImproperlyConfigured, match=r"^SECRET_KEY_FILE=.*cannot be read"):
        env_secret("SECRET_KEY", environ={"SECRET_KEY_FILE": str(tmp_path)})


@pytest.mark.parametrize("content", ["", "   \n\n"])
def test_env_secret_refuses_an_empty_file(tmp_path, content):
    key_file = tmp_path / "secret_key"
    key_file.write_text(content, encoding="utf-8")
    with pytest.raises(ImproperlyConfigured, match=r"^SECRET_KEY_FILE=.*is empty"):
        env_secret("SECRET_KEY", environ={"SECRET_KEY_FILE": str(key_file)})


# --- parse_email_url ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "smtp://mail.example.org",
            {"EMAIL_HOST": "mail.example.org", "EMAIL_PORT": 25, "EMAIL_USE_TLS": False},
        ),
        (
            "smtp://mail.example.org:2525",
            {"EMAIL_PORT": 2525, "EMAIL_USE_TLS": False, "EMAIL_USE_SSL": False},
        ),
        ("smtp://mail.example.org?tls=1", {"EMAIL_PORT": 587, "EMAIL_USE_TLS": True}),
        (
            "smtp+tls://user%40example.org:p%2Fss@mail.example.org",
            {
                "EMAIL_PORT": 587,
                "EMAIL_USE_TLS": True,
                "EMAIL_USE_SSL": False,
                "EMAIL_HOST_USER": "user@example.org",
                "EMAIL_HOST_PASSWORD": "p/ss",
            },
        ),
        (
            "smtps://mail.example.org",
            {"EMAIL_PORT": 465, "EMAIL_USE_SSL": True, "EMAIL_USE_TLS": False},
        ),
        ("SMTPS://mail.example.org:2465", {"EMAIL_PORT": 2465, "EMAIL_USE_SSL": True}),
    ],
)
def test_parse_email_url_smtp_variants(url, expected):
    config = parse_email_url("EMAIL_URL", url)
    assert config["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert {key: config[key] for key in expected} == expected
    # Neither TLS mode at once: Django refuses EMAIL_USE_TLS together with EMAIL_USE_SSL.
    assert not (config["EMAIL_USE_TLS"] and config["EMAIL_USE_SSL"])


def test_parse_email_url_without_credentials_gives_empty_strings():
    config = parse_email_url("EMAIL_URL", "smtp://mail.example.org")
    assert config["EMAIL_HOST_USER"] == ""
    assert config["EMAIL_HOST_PASSWORD"] == ""


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        ("console://", "django.core.mail.backends.console.EmailBackend"),
        ("memory://", "django.core.mail.backends.locmem.EmailBackend"),
    ],
)
def test_parse_email_url_console_and_memory(url, backend):
    assert parse_email_url("EMAIL_URL", url) == {"EMAIL_BACKEND": backend}


@pytest.mark.parametrize("url", ["http://mail.example.org", "mail.example.org", "ftp://x", ""])
def test_parse_email_url_refuses_unknown_schemes(url):
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL has an unknown scheme"):
        parse_email_url("EMAIL_URL", url)


@pytest.mark.parametrize("url", ["smtp://mail.example.org:abc", "smtp://mail.example.org:99999"])
def test_parse_email_url_refuses_a_bad_port(url):
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL has a port that is not a number"):
        parse_email_url("EMAIL_URL", url)


def test_parse_email_url_refuses_a_missing_host():
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL names no host"):
        parse_email_url("EMAIL_URL", "smtp://")


# --- parse_database_url -------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "pgsql"])
def test_parse_database_url_postgresql(scheme):
    config = parse_database_url(
        "DATABASE_URL", f"{scheme}://clinic:pa%40ss@db.example.org:6543/mesoclinic"
    )
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert config["NAME"] == "mesoclinic"
    assert config["USER"] == "clinic"
    assert config["PASSWORD"] == "pa@ss"
    assert config["HOST"] == "db.example.org"
    assert config["PORT"] == 6543
    assert config["CONN_MAX_AGE"] == 60
    assert config["CONN_HEALTH_CHECKS"] is True


def test_parse_database_url_sqlite(tmp_path):
    config = parse_database_url("DATABASE_URL", f"sqlite:///{tmp_path}/clinic.sqlite3")
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert str(config["NAME"]) == f"{tmp_path}/clinic.sqlite3"


@pytest.mark.parametrize(
    "url",
    ["mysql://root@localhost/mesoclinic", "oracle://x@y/z", "mssql://x@y/z", "redis://localhost"],
)
def test_parse_database_url_refuses_other_databases(url):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL must start with postgresql://"):
        parse_database_url("DATABASE_URL", url)


def test_parse_database_url_refuses_a_postgresql_url_without_database_name():
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL names no database"):
        parse_database_url("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432")


def test_parse_database_url_refuses_a_bad_port():
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        parse_database_url("DATABASE_URL", "postgresql://postgres@127.0.0.1:port/db")
