"""/healthz: 200 with the database reachable, 503 without it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
from django.db import OperationalError
from django.test import Client
from django.urls import reverse

from mesoclinic.core import views as core_views


def test_healthz_answers_200_json_when_the_database_answers(db):
    response = Client().get(reverse("healthz"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {"status": "ok", "database": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_is_at_the_documented_path(db):
    assert reverse("healthz") == "/healthz"


class _UnreachableDatabase:
    def cursor(self):
        raise OperationalError("connection refused")


class _QueryFails:
    class _Cursor:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def execute(self, sql):
            raise OperationalError("server closed the connection unexpectedly")

    def cursor(self):
        return self._Cursor()


@pytest.mark.parametrize("broken", [_UnreachableDatabase(), _QueryFails()])
def test_healthz_answers_503_when_the_database_is_unreachable(db, monkeypatch, broken):
    monkeypatch.setattr(core_views, "connection", broken)
    response = Client().get(reverse("healthz"))
    assert response.status_code == 503
    assert json.loads(response.content) == {"status": "unavailable", "database": "unreachable"}


def test_healthz_needs_no_sign_in_and_refuses_writes(db):
    client = Client()
    assert client.get(reverse("healthz")).status_code == 200
    assert client.post(reverse("healthz")).status_code == 405


def test_healthz_answers_head_like_get(db):
    # Load balancers and uptime monitors often probe with HEAD.
    response = Client().head(reverse("healthz"))
    assert response.status_code == 200
    assert response.content == b""
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.parametrize("method", ["put", "patch", "delete", "options"])
def test_healthz_refuses_other_methods(db, method):
    response = getattr(Client(), method)(reverse("healthz"))
    assert response.status_code == 405
    assert sorted(response["Allow"].split(", ")) == ["GET", "HEAD"]


def test_healthz_answers_503_with_a_real_unreachable_postgresql(tmp_path):
    """No mock: the product settings pointed at a port where no database listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    code = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "r = Client().get('/healthz')\n"
        "print(r.status_code, r.content.decode())\n"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY_FILE", "EMAIL_URL", "DEBUG", "TIME_ZONE"}
    }
    env |= {
        "DJANGO_SETTINGS_MODULE": "mesoclinic.settings",
        "SECRET_KEY": "s" * 50,
        "ALLOWED_HOSTS": "testserver",
        "MESOCLINIC_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"postgresql://nobody@127.0.0.1:{closed_port}/nothing",
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    status, body = result.stdout.strip().splitlines()[-1].split(" ", 1)
    assert status == "503"
    assert json.loads(body)["database"] == "unreachable"
