"""Write the shrinkage animations of seed 001: every scenario, the rats, a Bayesian fit.

    .venv/bin/python docs/make_animations.py [output folder]     (default: docs/animations)

The README's GIF (``docs/shrinkage_default.gif``) is the first of them, copied beside this
script.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import hierarch
from hierarch import plots, simulate
from hierarch.report.frames import shrinkage_frames


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, kwargs in simulate.SLOPE_SCENARIOS.items():
        df = simulate.random_slopes(**kwargs)
        fit = hierarch.model("y ~ x + (x | cluster)", df).fit(method="reml")
        slug = name.replace(" = ", "_").replace(", ", "_").replace(" ", "_").replace(".", "")
        written.append(plots.animate_shrinkage(shrinkage_frames(fit), out / f"{slug}.gif", dpi=70))
        if name == "default":
            bayes = hierarch.model("y ~ x + (x | cluster)", df).fit(
                method="bayes", random_seed=1, progressbar=False
            )
            frames = shrinkage_frames(bayes, n_draws=30)
            written.append(plots.animate_shrinkage(frames, out / "default_bayes.gif", dpi=70))
    rats = hierarch.load_dataset("rats")
    fit = hierarch.binomial_model("m", "n", group="batch", data=rats, multilevel=True)
    written.append(plots.animate_shrinkage(shrinkage_frames(fit), out / "rats.gif", dpi=70))
    shutil.copy(out / "default.gif", Path(__file__).parent / "shrinkage_default.gif")
    print("Wrote:\n" + "\n".join(f"  {p}" for p in written))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "animations")
