"""WSGI entry point for other servers: ``gunicorn essen_dash.wsgi:server``."""

from essen_dash.app import create_app

server = create_app().server
