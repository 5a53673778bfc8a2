"""nblabel."""
