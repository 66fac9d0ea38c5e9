"""Refresh the picture of every case page: ``python docs/case_pictures.py [RUNS]`` copies the
chosen output picture (``hooks.CASE_PICTURES``) of each case's regression run into
``docs/images/cases/<case>.png`` (256 colours, to keep the repository small).

RUNS is the output root of ``sse-fem gold`` (default ``results/gold``; run ``sse-fem gold``
first). A case without that picture keeps its old one and is listed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from hooks import CASE_PICTURES, ROOT
from PIL import Image


def main() -> None:
    runs = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "results" / "gold")
    target = ROOT / "docs" / "images" / "cases"
    target.mkdir(parents=True, exist_ok=True)
    for case, picture in CASE_PICTURES.items():
        source = runs / case / "case" / picture
        if not source.exists():
            print(f"{case}: no {source}")
            continue
        Image.open(source).convert("RGB").quantize(256).save(target / f"{case}.png", optimize=True)
        print(f"{case}: {picture}")


if __name__ == "__main__":
    main()
