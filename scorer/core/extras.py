"""The install command of an optional extra, as it works where spe was installed from.

The project is not on any registry under its name: ``pip install
'social-performance-estimator[cluster]'`` finds nothing. pip records the folder
it installed from (direct_url.json); the command names that folder, else ".",
the checkout a README reader stands in.
"""

from __future__ import annotations


def install_command(extra: str) -> str:
    """``pip install 'FOLDER[extra]'`` for the folder spe was installed from."""
    import json
    from importlib import metadata
    from urllib.parse import unquote, urlparse

    source = "."
    for dist in metadata.distributions(name="social-performance-estimator"):
        try:  # (a source checkout's own .egg-info has no direct_url.json: the next one)
            url = urlparse(json.loads(dist.read_text("direct_url.json") or "{}").get("url", ""))
        except (ValueError, AttributeError):
            continue
        if url.scheme == "file" and url.path:
            source = unquote(url.path)
            break
    return f"pip install '{source}[{extra}]'"
