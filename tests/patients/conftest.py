from tests.patients.factories import add_patients  # noqa: F401  (fixture)
