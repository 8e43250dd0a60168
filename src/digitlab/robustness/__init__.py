"""How well do models cope with changed images: every model scored on the same changed test sets.

The transforms and the augmentation themselves live in :mod:`digitlab.images` (a lower layer that
training uses too); this package scores models on them (:mod:`digitlab.robustness.evaluate`) and
draws the results (:mod:`digitlab.robustness.figures`).
"""
