"""``python -m bench [--only NAME ...] [--quick] [--list]``: see :mod:`bench.suite`."""

from bench.suite import main

if __name__ == "__main__":
    main()
