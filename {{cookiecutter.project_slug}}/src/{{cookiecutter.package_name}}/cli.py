"""Run a stage's ``main`` with logging set up and input errors shown plainly."""

import logging
import sys
from collections.abc import Callable

from .errors import InputError


def run(main: Callable[[], None]) -> None:
    """Call ``main``; on bad params or data, print the message and exit with status 1.

    Any other exception is a bug or an environment problem and keeps its traceback.
    """
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        main()
    except (InputError, FileNotFoundError) as error:
        message = error.args[0] if error.args else str(error)
        print(f"error: {message}", file=sys.stderr)
        sys.exit(1)
