"""``python -m dpr_components ...`` runs the dpr-components CLI (see dpr_components.cli.main)."""
import sys

from dpr_components.cli.main import main

sys.exit(main())
