"""Write ``microstructure.npy``: a synthetic segmented 3D image (uint8, axes x, y, z).

Labels: 0 solid electrolyte, 1 active material (overlapping balls), 2 pores (small balls).
48 x 48 x 32 voxels, seeded; stands in for a segmented tomogram (voxel size in case.yaml).
"""

from pathlib import Path

import numpy as np


def main(path: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    shape = np.array([48, 48, 32])
    grid = np.stack(np.meshgrid(*[np.arange(n) + 0.5 for n in shape], indexing="ij"), -1)
    img = np.zeros(shape, np.uint8)
    for label, count, (rmin, rmax) in ((1, 40, (5.0, 8.0)), (2, 250, (1.5, 2.5))):
        for _ in range(count):
            c = rng.uniform(0, 1, 3) * shape
            r = rng.uniform(rmin, rmax)
            inside = ((grid - c) ** 2).sum(-1) < r * r
            img[inside & (img == 0)] = label
    np.save(path, img)


if __name__ == "__main__":
    main(Path(__file__).with_name("microstructure.npy"))
