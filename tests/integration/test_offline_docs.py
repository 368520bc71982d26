"""/_sim/docs works offline: Swagger UI's script, stylesheet and icon are served by the fake
itself (vendored in simulators/core/static/swagger-ui/), never from a CDN."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from simulators.core.app import DOCS_ASSETS_DIR, build_app
from simulators.core.config import build_simulator
from simulators.registry import create_vendor

CONTENT_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


@pytest.mark.parametrize("vendor", ["stripe", "salesforce"])
def test_docs_page_and_its_assets_are_served_locally(vendor: str) -> None:
    asyncio.run(_check_docs(vendor))


async def _check_docs(vendor: str) -> None:
    app = build_app(build_simulator(create_vendor(vendor)))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        page = await http.get("/_sim/docs")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert len(urls) == 3  # script, stylesheet, icon
        assert "cdn" not in page.text.lower() and "://" not in " ".join(urls)
        assert all(url.startswith("/_sim/docs/assets/") for url in urls)
        assert "url: '/_sim/openapi.json'" in page.text
        for url in urls:
            asset = await http.get(url)
            assert asset.status_code == 200, url
            suffix = url[url.rindex("."):]
            assert CONTENT_TYPES[suffix] in asset.headers["content-type"], url
            assert asset.content == (DOCS_ASSETS_DIR / url.rsplit("/", 1)[1]).read_bytes()
        assert (await http.get("/_sim/docs/assets/missing.js")).status_code == 404
        assert (await http.get("/_sim/docs/assets/../../app.py")).status_code == 404


def test_the_vendored_assets_carry_their_licence() -> None:
    names = {path.name for path in DOCS_ASSETS_DIR.iterdir()}
    assert {"swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE"} <= names
    assert "Apache License" in (DOCS_ASSETS_DIR / "LICENSE").read_text()
    size = sum(path.stat().st_size for path in DOCS_ASSETS_DIR.iterdir())
    assert size < 2_000_000
