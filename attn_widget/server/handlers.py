"""REST handlers of the attn-widget server extension."""

from __future__ import annotations

import json

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web


class VersionHandler(APIHandler):
    """``GET {base_url}attn-widget/version``: the installed package version (auth required)."""

    @web.authenticated
    def get(self) -> None:
        from .. import __version__

        self.finish(json.dumps({"version": __version__}))


def setup_handlers(server_app) -> None:
    web_app = server_app.web_app
    base = url_path_join(web_app.settings["base_url"], "attn-widget")
    web_app.add_handlers(".*$", [(url_path_join(base, "version"), VersionHandler)])
