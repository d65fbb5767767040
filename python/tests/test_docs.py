"""docs/python.md and python/README.md: their Python code blocks run, in
order, in one namespace per page, from the repository's root (where the
examples' paths lead)."""

import os
import re

import pytest

from conftest import REPO

PAGES = [REPO / "docs" / "python.md", REPO / "python" / "README.md"]


def code_blocks(text: str):
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.M | re.S)


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_the_pages_code_runs(page, monkeypatch):
    blocks = code_blocks(page.read_text())
    assert blocks, f"{page} has no python blocks"
    monkeypatch.chdir(REPO)
    namespace = {"__name__": "__docs__"}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"{page.name} block {i + 1}", "exec"), namespace)
        except Exception as e:  # pragma: no cover - the message names the block
            raise AssertionError(f"{page.name}, block {i + 1} failed: {e!r}\n{block}") from e
