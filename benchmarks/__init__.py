"""Engine-vs-PyTorch benchmarks; the workloads live in `mlseries.bench` so that the installed
`mlseries bench` command and `python -m benchmarks` run the same code."""
