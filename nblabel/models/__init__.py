"""Default trainable models. Torch is imported only when a torch model is fitted or used."""

from nblabel.models.boxes import BoxModel

__all__ = ["BoxModel"]
