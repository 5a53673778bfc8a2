"""Kept for compatibility: this module moved to :mod:`nblabel.quality.metrics`.

``nblabel.metrics`` is that same module object, so its names (private ones included) and
monkeypatching keep working.
"""

import sys

from nblabel.quality import metrics as _moved

sys.modules[__name__] = _moved
