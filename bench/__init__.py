"""The benchmark suite of nnlib (``make bench``; the driver is :mod:`bench.run`)."""
