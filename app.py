"""Start the dashboard for development: ``python app.py [--port 8050] [--host 127.0.0.1]``."""

import sys

from essen_dash.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", *sys.argv[1:]]))
