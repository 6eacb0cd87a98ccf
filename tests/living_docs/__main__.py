"""python -m tests.living_docs CUCUMBER_JSON OUT_HTML [BROWSER_RUN_XML]"""

import sys

from tests.living_docs import main

main(*sys.argv[1:4])
