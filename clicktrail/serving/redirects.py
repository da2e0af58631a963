"""Where a form may send the browser back to: a path of this server, never another origin."""

from __future__ import annotations


def own_path(target: str, root: str) -> bool:
    """``target`` is ``root`` or a path below it, as a browser will read it. Browsers drop tabs
    and line breaks from a URL and read a backslash as a slash, so a target holding a control
    character, a backslash or ``//`` anywhere is refused, not cleaned (a line break also made
    the redirect itself fail)."""
    return (
        (target == root or target.startswith(root.rstrip("/") + "/"))
        and "//" not in target
        and "\\" not in target
        and target.isprintable()
    )
