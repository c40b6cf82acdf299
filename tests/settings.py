"""Settings for the test suite: the product's settings with a fast password hasher."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-" + "x" * 40)
os.environ.setdefault("DEBUG", "0")

from mesoclinic.settings import *  # noqa: F403

# Argon2 costs ~50 ms per hash; the suite hashes thousands of times. Production keeps Argon2
# (tests/accounts/test_settings.py checks the product's own setting).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Django empties SQLite tables between transactional tests with DELETE, which the audit
# trail's append-only trigger would refuse; PostgreSQL's flush uses TRUNCATE, which the
# trigger does not see, so there DELETE stays refused in tests too.
AUDIT_SQLITE_REFUSES_DELETE = False

# Uploaded photos go to a throw-away directory, removed when the test run ends.
import atexit  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="mesoclinic-test-media-"))  # noqa: F405
atexit.register(shutil.rmtree, MEDIA_ROOT, ignore_errors=True)
