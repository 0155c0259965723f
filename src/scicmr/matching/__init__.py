"""Query-image matching (mobile visual search): a photo or screenshot of a figure finds the
original figure. :mod:`.distortions` makes phone-photo-like queries (:mod:`.page`: the figure
photographed inside its printed page), :mod:`.align` the crop-aligned thumbnail correlation,
:mod:`.local_features` local-feature verification and localisation (SIFT, RANSAC homography),
:mod:`.matcher` the global-feature shortlist, verification and re-ranking."""
