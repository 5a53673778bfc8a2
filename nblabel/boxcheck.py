"""Kept for compatibility: this module moved to :mod:`nblabel.quality.boxcheck`.

``nblabel.boxcheck`` is that same module object, so its names (private ones included) and
monkeypatching keep working.
"""

import sys

from nblabel.quality import boxcheck as _moved

sys.modules[__name__] = _moved
