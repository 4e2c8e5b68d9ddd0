"""The Ragas evaluation suite behind `assistant eval` (see evals/README.md)."""

import os

# Set before anything imports ragas: evaluation runs never send usage telemetry.
os.environ["RAGAS_DO_NOT_TRACK"] = "true"
