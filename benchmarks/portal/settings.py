"""What every part of the portal's load benchmark shares: where the code is, the scrypt
cost of the run, the people's password."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).parent.parent.parent
COST = int(os.environ.get("BS_LOAD_COST", "14"))  # production's (BS_HASH_COST's default);
# another only to see what the rest costs (the printout says which)
PASSWORD = "Load-test-pass1"
