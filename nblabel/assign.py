"""Kept for compatibility: this module moved to :mod:`nblabel.store.assign`.

``nblabel.assign`` is that same module object, so its names (private ones included) and
monkeypatching keep working.
"""

import sys

from nblabel.store import assign as _moved

sys.modules[__name__] = _moved
