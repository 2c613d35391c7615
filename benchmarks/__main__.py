"""`python -m benchmarks` from a checkout runs the same benchmarks as `mlseries bench`."""
import sys

from mlseries.bench import main

sys.exit(main())
