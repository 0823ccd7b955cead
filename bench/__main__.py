"""`make bench`: run the benchmarks, print their reports, write them to bench/results/.

python -m bench [all|load|speed|schema]
"""

import argparse

from bench import schema, speed, zero_downtime


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "which", nargs="?", default="all", choices=["all", "load", "speed", "schema"]
    )
    which = parser.parse_args().which
    if which in ("all", "load"):
        print(zero_downtime.main(), flush=True)
    if which in ("all", "speed"):
        print(speed.main(), flush=True)
    if which in ("all", "schema"):
        print(schema.main(), flush=True)


if __name__ == "__main__":
    main()
