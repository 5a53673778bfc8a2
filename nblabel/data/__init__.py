"""Items and their content: :mod:`~nblabel.data.items` (the DataFrame rows a session labels),
:mod:`~nblabel.data.images` (safe, size-checked image loading) and
:mod:`~nblabel.data.datasets` (the small sample data sets shipped in this folder)."""
