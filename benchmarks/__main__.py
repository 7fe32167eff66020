# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Entry point: `.venv/bin/python -m benchmarks [--check] [--help]` from the repository root."""

import sys

from benchmarks.run import main

sys.exit(main())
