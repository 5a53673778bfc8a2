"""Default trainable models. Torch is imported only when a torch model is fitted or used."""

from nblabel.models.box_data import ImageCache
from nblabel.models.box_net import resolve_device
from nblabel.models.boxes import BoxModel

__all__ = ["BoxModel", "ImageCache", "resolve_device"]
