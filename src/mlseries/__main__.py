"""`python -m mlseries ...` is the same as the `mlseries` command."""
from .cli import main

main(prog_name="mlseries")
