"""The `har` command: extract frames, train, evaluate, predict, list models, make synthetic data.

Errors a user can cause print one line and exit 1; bad arguments exit 2 (argparse).
TensorFlow is imported only by the subcommands that need it, so `--help` is instant.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Sequence

from har.cli.parser import build_parser
from har.errors import HarError
from har.utils.quiet import quiet_native_logs

EXIT_USER_ERROR = 1


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    quiet_native_logs()
    warnings.showwarning = _one_line_warning
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except HarError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as error:  # a disk full or a folder that cannot be written, not a bug
        where = f" ({error.filename})" if error.filename else ""
        print(f"error: {error.strerror or error}{where}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {message}", file=sys.stderr)
