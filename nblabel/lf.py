"""Kept for compatibility: this module moved to :mod:`nblabel.quality.lf`.

``nblabel.lf`` is that same module object, so its names (private ones included) and
monkeypatching keep working.
"""

import sys

from nblabel.quality import lf as _moved

sys.modules[__name__] = _moved
