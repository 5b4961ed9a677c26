"""``gupcheck explore``: drive a scenario under a design by hand in a local web page.

:mod:`.session` holds the path and the cursor and builds what the page shows from the model's
own API; :mod:`.server` serves the page and a JSON API on 127.0.0.1 with the standard library;
``assets/`` is the page itself (no external resources).  See docs/explore.md.
"""

from .server import ExploreServer, serve
from .session import ExploreError, Explorer, Node, SavedTrace, read_trace

__all__ = ["ExploreError", "ExploreServer", "Explorer", "Node", "SavedTrace", "read_trace",
           "serve"]
