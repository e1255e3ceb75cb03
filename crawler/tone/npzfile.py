"""Writing the shipped arrays: compressed .npz files with fixed zip timestamps, so two
builds from the same data are byte-identical (and their sha256 in PROVENANCE.json holds)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` (no pickles) to ``path``, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, array in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(array), allow_pickle=False)
            zf.writestr(zipfile.ZipInfo(name + ".npy", date_time=_FIXED_ZIP_TIME), buf.getvalue(),
                        compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
