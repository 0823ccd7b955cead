"""`make bench`: run the benchmarks, print their reports, write them to bench/results/.

python -m bench [all|load|speed|chaos]   (chaos is not part of all: it checks, it does not time)
"""

import argparse
import os

from bench import chaos, speed, zero_downtime


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "which", nargs="?", default="all", choices=["all", "load", "speed", "chaos"]
    )
    which = parser.parse_args().which
    if which in ("all", "load"):
        print(zero_downtime.main(), flush=True)
    if which in ("all", "speed"):
        print(speed.main(), flush=True)
    if which == "chaos":
        print(chaos.main(int(os.environ.get("BENCH_TRIALS", "10"))), flush=True)


if __name__ == "__main__":
    main()
