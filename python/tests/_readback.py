"""Reads a run back over plain HTTP, for exact assertions that do not depend on the package's own Client."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from typing import Any, Dict, List

from conftest import TOKEN


def get(url: str, route: str, **query: Any) -> Any:
    q = ("?" + urllib.parse.urlencode(query)) if query else ""
    request = urllib.request.Request(f"{url}/api/v1{route}{q}", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read())


def series(url: str, run: str, name: str) -> Dict[str, List[Any]]:
    return dict(get(url, f"/runs/{run}/metrics/series", name=name))


def events(url: str, run: str) -> List[Dict[str, Any]]:
    return list(get(url, f"/runs/{run}/events", limit=10000, order="asc")["items"])
