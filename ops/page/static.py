"""The page itself (page.html: inline CSS and vanilla JS, no build step) and its CSP.

The Content-Security-Policy allows nothing by default and then exactly what the page uses:
its own inline <style> and <script>, named by their SHA-256 (so an injected script or style
would not run even if a value escaped the DOM escaping), and fetches to this origin. No
other host, font, image or frame can be loaded and no form can post anywhere: the page sends
nothing anywhere, and the browser enforces it.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from importlib import resources

_BLOCK = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)


@cache
def page_html() -> bytes:
    """page.html as shipped with the package."""
    return resources.files("ops.page").joinpath("page.html").read_bytes()


@cache
def content_security_policy() -> str:
    """The header value for every response (hashes of page.html's inline blocks)."""
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for kind, body in _BLOCK.findall(page_html().decode("utf-8")):
        digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode()
        hashes[kind].append(f"'sha256-{digest}'")
    if not hashes["script"] or not hashes["style"]:
        raise RuntimeError("page.html must have an inline <script> and <style>")
    return ("default-src 'none'; "
            f"script-src {' '.join(hashes['script'])}; "
            f"style-src {' '.join(hashes['style'])}; "
            "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'")
