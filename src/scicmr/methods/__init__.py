"""Retrieval methods behind one registry (see :mod:`scicmr.methods.registry`).

- :mod:`scicmr.methods.common_space` — shared-space methods: CCA, Corr-AE, CMDN, DSCMR, IDCMR, CARDL.
- :mod:`scicmr.methods.adversarial` — adversarial shared-space methods: ACMR, SSACR, SMCR, MFCMR.
- :mod:`scicmr.methods.hashing` — binary-code methods: CCA-hash, DCMH, MS-SCH-GAN, the masked
  hash transformer, and ADHN (images only).
- :mod:`scicmr.methods.base`, :mod:`scicmr.methods.training`, :mod:`scicmr.methods.torch_state`
  — the method contract, the training loop, and saving torch state.
"""

from scicmr.methods.registry import (available_methods, create_method, load_method, method_class, method_inputs,
                                     method_summary, saved_method_name)

__all__ = ["available_methods", "create_method", "load_method", "method_class", "method_inputs", "method_summary",
           "saved_method_name"]
