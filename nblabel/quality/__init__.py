"""Label quality: review of labels (:mod:`~nblabel.quality.review`), weak supervision
(:mod:`~nblabel.quality.lf` labeling functions, :mod:`~nblabel.quality.labelmodel`), label
issues (:mod:`~nblabel.quality.confident`, :mod:`~nblabel.quality.boxcheck`) and agreement
metrics (:mod:`~nblabel.quality.metrics`)."""
