"""Query-image matching (mobile visual search): a photo or screenshot of a figure finds the
original figure. :mod:`.distortions` makes phone-photo-like queries, :mod:`.align` the
crop-aligned thumbnail correlation, :mod:`.matcher` the global-feature shortlist and re-ranking."""
