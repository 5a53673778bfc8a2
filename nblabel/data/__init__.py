"""Items and their content: :mod:`~nblabel.data.items` (the DataFrame rows a session labels),
:mod:`~nblabel.data.images` (safe, size-checked image loading),
:mod:`~nblabel.data.folder` (a folder of photos as a DataFrame, grouped by subfolder) and
:mod:`~nblabel.data.datasets` (the small sample data sets shipped in this folder)."""
