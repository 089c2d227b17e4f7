import matplotlib

matplotlib.use("Agg")

import gdlab.theory  # noqa: E402,F401  (turns on float64 before any test builds arrays)
