"""The ``mesoclinic`` console script: the same as ``python -m mesoclinic`` and manage.py.

``mesoclinic trichoscopy ...`` runs the image-analysis library's command line
(``mesoclinic.trichoscopy.cli``) without importing Django: it needs no database or settings.
"""

import os
import sys


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "trichoscopy":
        from mesoclinic.trichoscopy.cli import main as trichoscopy_main

        sys.exit(trichoscopy_main(sys.argv[2:]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesoclinic.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
