"""Where the app may send a browser back to: a page of this app, never another site."""
import re
from urllib.parse import urlsplit

from flask import request

# A backslash is a slash to browsers ("/\evil.example" is "//evil.example"), and they drop tabs and newlines
# from URLs ("/\t/evil.example" too): none of these belongs in a path we send back.
_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")


def local_target(target):
    """Return `target` as a path within this app, or None when it is not one.

    A path ("/admin/account/?page=2") is kept; an absolute URL on this app's own host (what browsers send as
    Referer) becomes its path and query; anything else (another host, a protocol-relative "//host", a
    "javascript:" URL, a path outside the app's mount point) is None.
    """
    if not target or _UNSAFE.search(target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        if parts.scheme not in ("http", "https") or parts.netloc != request.host:
            return None
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith(request.script_root + "/") or target.startswith("//"):
        return None
    return target
