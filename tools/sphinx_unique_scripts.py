"""Sphinx extension: each inline script appears once per page.

sphinx-thebe adds its configuration script (``const THEBE_JS_URL = ...``) every time
Sphinx fires ``env-before-read-docs``, which a Jupyter Book build fires more than once;
the second copy redeclares the constants and throws a SyntaxError in every page, which
the browser check reports. Keep the first copy of each identical script.
"""

from __future__ import annotations


def _drop_repeated_scripts(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        # A _JavaScript or a plain path; an inline script's filename is None or "".
        filename = getattr(script, "filename", script) or ""
        key = (str(filename), tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _drop_repeated_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
