"""``python -m ops COMMAND ...``: operations commands (see :mod:`ops`)."""

from __future__ import annotations

import sys

from ops.backfill import main as backfill_main

COMMANDS = {"backfill": backfill_main}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in COMMANDS:
        print(f"usage: python -m ops {{{','.join(COMMANDS)}}} ... (e.g. python -m ops backfill --help)",
              file=sys.stderr)
        return 2
    return COMMANDS[args[0]](args[1:])


if __name__ == "__main__":
    sys.exit(main())
