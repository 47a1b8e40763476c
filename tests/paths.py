"""Where the test data lives.  The keepalived corpus and the seed document are
copied into the repository (tests/data/), so a clean clone needs nothing else."""

from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
DATA = TESTS / "data"
CORPUS = DATA / "corpus" / "keepalived"
SEED = DATA / "seed"
