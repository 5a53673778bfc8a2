"""Kept for compatibility: this module moved to :mod:`nblabel.data.datasets`.

``nblabel.datasets`` is that same module object, so its names (private ones included) and
monkeypatching keep working.
"""

import sys

from nblabel.data import datasets as _moved

sys.modules[__name__] = _moved
